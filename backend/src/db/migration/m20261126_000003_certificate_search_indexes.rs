//! Indexes of the bank's certificate search (/admin: by user ID, newest first, per company, by
//! status newest first) and of the reminder scan (each user's latest expiry). Measured by
//! `cjs-bench` on 1,000,000 rows (docs/PERFORMANCE.md).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &[(&str, &[&str])] = &[
    ("idx_certificates_subject_cn", &["subject_cn"]),
    ("idx_certificates_created_at", &["created_at"]),
    ("idx_certificates_org_created", &["org_id", "created_at"]),
    ("idx_certificates_status_created", &["status", "created_at"]),
    ("idx_certificates_user_not_after", &["user_pk", "not_after"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, cols) in INDEXES {
            let mut index = Index::create();
            index.name(*name).table("certificates");
            for col in *cols {
                index.col(*col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }
}
