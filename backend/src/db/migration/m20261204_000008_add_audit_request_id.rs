//! The request ID of every audit entry (`audit_log.request_id`, the `X-Request-Id` of the request
//! it was made in, also on that request's log lines; NULL outside a request and for entries older
//! than this migration). A nullable column rewrites no row, so the append-only triggers neither
//! fire nor need to change.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("audit_log").add_column(text_null("request_id")).to_owned()).await
    }
}
