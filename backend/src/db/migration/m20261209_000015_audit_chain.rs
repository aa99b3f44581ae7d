//! The audit log's hash chain (`audit::chain`): `audit_chain` holds, for every entry in the order
//! the sealer chained them, its sequence number and the SHA-256 that covers the previous link and
//! the entry's own fields; `audit_checkpoints` holds the signed chain heads; `audit_sealer` is the
//! one row every sealer locks first, so that chains are extended by one writer at a time across
//! instances. Both chain tables refuse UPDATE and DELETE like the log itself. Existing entries
//! are chained by the first sealer pass after this migration, from the oldest.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("audit_chain")
                    .col(big_integer("seq").primary_key())
                    .col(big_integer_uniq("entry_id"))
                    .col(string_len("hash", 64))
                    .col(timestamp_with_time_zone("sealed_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("audit_checkpoints")
                    .col(big_pk_auto("id"))
                    .col(big_integer("seq"))
                    .col(timestamp_with_time_zone("at"))
                    .col(text("document"))
                    .col(text("signature"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_audit_checkpoints_seq").table("audit_checkpoints").col("seq").to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("audit_sealer")
                    .col(integer("id").primary_key())
                    .col(timestamp_with_time_zone_null("sealed_at"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared("INSERT INTO audit_sealer (id) VALUES (1)").await?;
        for table in ["audit_chain", "audit_checkpoints"] {
            append_only(db, table).await?;
        }
        Ok(())
    }
}

/// `table` refuses UPDATE and DELETE, as `audit_log` does.
async fn append_only(db: &SchemaManagerConnection<'_>, table: &str) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            for op in ["UPDATE", "DELETE"] {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_no_{} BEFORE {op} ON {table} \
                     BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;",
                    op.to_lowercase()
                ))
                .await?;
            }
        }
        DbBackend::Postgres => {
            // The function of the first migration names audit_log in its message; this one says which.
            db.execute_unprepared(&format!(
                "CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION '{table} is append-only'; END; $$;"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {table}_append_only();"
            ))
            .await?;
        }
        other => return Err(DbErr::Custom(format!("unsupported database backend {other:?}"))),
    }
    Ok(())
}
