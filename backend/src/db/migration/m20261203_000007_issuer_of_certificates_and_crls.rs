//! Several CAs at once (a CA rollover): which CA issued each certificate and signed each CRL,
//! by the CA's key identifier ([`crate::pki::CertificateAuthority::key_id`]). Rows from before
//! have none: they are of the oldest CA, and `cjs serve` fills that in at start.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("certificates").add_column(string_null("issuer_key_id")).to_owned())
            .await?;
        manager.alter_table(Table::alter().table("crls").add_column(string_null("issuer_key_id")).to_owned()).await
    }
}
