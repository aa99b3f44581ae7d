//! An index of the audit log on (subject_user, action, at, id): the home screen's recent activity
//! (`read::activity`) reads a user's last logins, their failed attempts since and their recent
//! issuances as three exact index ranges, whatever else the log holds about them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_subject_action_at")
                    .table("audit_log")
                    .col("subject_user")
                    .col("action")
                    .col("at")
                    .col("id")
                    .to_owned(),
            )
            .await
    }
}
