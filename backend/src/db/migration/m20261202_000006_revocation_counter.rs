//! The revocation counter: one row whose `revocations` every revocation increments in its own
//! transaction, and the value each stored CRL covers (`crls.revocations`). A CRL whose value is
//! below the counter misses a revocation and is signed anew when it is next asked for, so a
//! revocation no longer signs the CRL inside its transaction.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("revocation_counter")
                    .col(integer("id").primary_key())
                    .col(big_integer("revocations").default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table("revocation_counter")
                    .columns(["id", "revocations"])
                    .values_panic([1.into(), 0.into()])
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table("crls").add_column(big_integer("revocations").default(0)).to_owned())
            .await
    }
}
