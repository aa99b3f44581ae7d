//! Pre-produced OCSP answers (`ocsp_answers`, RFC 9919 §3.2.4): for each unexpired certificate,
//! the signed answer a relying party's request for it gets, so that a first request is a lookup
//! and not a signature. `status` is the certificate's status the answer says; an answer is served
//! only while its certificate still has that status (read in the same statement), so a revocation
//! by any path, even one that does not know this table, is in the very next answer. `id_key` is
//! the SHA-256 of the CertID it answers (SHA-1 hashes, as clients send). Refreshed before
//! `next_update`; rows of expired certificates are deleted. Also an index of the certificates by
//! revocation time, for the pass that signs the answers of those revoked since the last.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("ocsp_answers")
                    .col(string("serial").primary_key())
                    .col(string_len("status", 16))
                    .col(blob("id_key"))
                    .col(blob("der"))
                    .col(timestamp_with_time_zone("this_update"))
                    .col(timestamp_with_time_zone("next_update"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ocsp_answers_next_update")
                    .table("ocsp_answers")
                    .col("next_update")
                    .to_owned(),
            )
            .await?;
        // What a pre-production pass looks up besides the issuances (`idx_certificates_created_at`):
        // the certificates revoked since the last pass.
        manager
            .create_index(
                Index::create().name("idx_certificates_revoked_at").table("certificates").col("revoked_at").to_owned(),
            )
            .await
    }
}
