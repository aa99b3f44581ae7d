//! `spawn_app` and friends: each test gets its own server, data directory and database. Split by
//! concern; everything is re-exported here, so tests import `crate::helpers::…`.

use std::{path::PathBuf, process::Command, sync::Once};

use backend::{
    auth::{
        Authenticator,
        accounts::{self, Actor, NewAccount},
    },
    config::{Config, ConfigArgs},
    pki::{issue::KeyType, p12::P12Encryption},
    startup::{Application, core_services},
};
use common::{Field, Password, UserId, api::Role};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use tempfile::TempDir;
use time::OffsetDateTime;

mod app;
mod browser;
mod db;
mod pki;
mod process;
mod smtp;

pub(crate) use self::db::each_database;
pub use self::{app::*, browser::*, db::*, pki::*, process::*, smtp::*};
