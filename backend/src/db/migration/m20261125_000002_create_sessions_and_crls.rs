//! Server-side login sessions and the signed CRLs.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sessions")
                    .col(string_len("id_hash", 64).primary_key())
                    .col(big_integer("user_pk"))
                    .col(string_len("cert_serial", 40))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("last_seen_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .foreign_key(ForeignKey::create().from("sessions", "user_pk").to("users", "id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_sessions_user").table("sessions").col("user_pk").to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("crls")
                    .col(big_integer("number").primary_key())
                    .col(timestamp_with_time_zone("this_update"))
                    .col(timestamp_with_time_zone("next_update"))
                    .col(blob("der"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_certificates_status").table("certificates").col("status").to_owned(),
            )
            .await
    }
}
