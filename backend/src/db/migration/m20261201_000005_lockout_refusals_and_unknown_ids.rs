//! R2 under attack: attempts refused while an ID is locked or blocked are counted in the user row
//! (one audit entry per lock period instead of one per attempt), and unknown IDs get a lock state
//! of their own so that a lock does not tell them from known ones. Rows of unknown IDs are pruned
//! when stale (`auth::unknown_ids::prune`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("users").add_column(integer("refused_attempts").default(0)).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("unknown_id_lockouts")
                    .col(string_len("user_id", 64).primary_key())
                    .col(integer("failures").default(0))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(integer("lock_count").default(0))
                    .col(timestamp_with_time_zone_null("blocked_at"))
                    .col(integer("refused_attempts").default(0))
                    .col(big_integer("version").default(0))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_unknown_id_lockouts_updated")
                    .table("unknown_id_lockouts")
                    .col("updated_at")
                    .to_owned(),
            )
            .await
    }
}
