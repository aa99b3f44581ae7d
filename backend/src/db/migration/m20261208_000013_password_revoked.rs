//! `users.password_revoked_at`: set when a certificate of the user is revoked for keyCompromise
//! (the .p12 and so the password that protects it are in someone else's hands). While it is set,
//! the right password is refused for every purpose, the password change included, until staff or
//! the master reset it (which clears it). Nullable: a release that does not read it keeps working.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::timestamp_with_time_zone_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .add_column(timestamp_with_time_zone_null("password_revoked_at"))
                    .to_owned(),
            )
            .await
    }
}
