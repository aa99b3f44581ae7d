//! The client address of every audit entry (`audit_log.client_address`, the request's IP as
//! text; NULL for entries made outside a request: CLI, workers, and entries older than this
//! migration). Adding a nullable column rewrites no row, so the append-only triggers (first
//! migration) neither fire nor need to change.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("audit_log").add_column(text_null("client_address")).to_owned()).await
    }
}
