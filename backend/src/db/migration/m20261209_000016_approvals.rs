//! Requests for a second staff member's approval (検印, `approvals`): the operation a staff member
//! proposed (its kind, its parameters as JSON and a line saying what it does), who proposed it
//! and when, until when it may be approved, and how it ended. Decided rows stay; their audit
//! entries are in the log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("approvals")
                    .col(big_pk_auto("id"))
                    .col(string_len("kind", 32))
                    .col(text("operation"))
                    .col(text("summary"))
                    .col(string_null("subject_user"))
                    .col(big_integer_null("org_id"))
                    .col(string("proposed_by"))
                    .col(timestamp_with_time_zone("proposed_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(string_len("state", 16))
                    .col(string_null("decided_by"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(text_null("reason"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_approvals_state_proposed")
                    .table("approvals")
                    .col("state")
                    .col("proposed_at")
                    .to_owned(),
            )
            .await
    }
}
