//! The account lifecycle after the first day: retired users (利用停止, `users.retired_at`: the row
//! and its ID stay, for the audit log and the certificates that name it, and every login and
//! issuance is refused) and suspended companies (`organizations.suspended_at`: their users are
//! refused until the company is resumed; nothing is revoked). Nullable columns rewrite no row.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table("users").add_column(timestamp_with_time_zone_null("retired_at")).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("organizations")
                    .add_column(timestamp_with_time_zone_null("suspended_at"))
                    .to_owned(),
            )
            .await
    }
}
