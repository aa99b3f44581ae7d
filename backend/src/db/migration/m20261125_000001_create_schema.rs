//! Organizations, users, certificates, the append-only audit log, the mail outbox and the
//! register of used issuance tokens.

use sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(organizations()).await?;
        manager.create_table(users()).await?;
        manager.create_index(Index::create().name("idx_users_org").table("users").col("org_id").to_owned()).await?;
        manager.create_table(certificates()).await?;
        for (name, col) in [("idx_certificates_user", "user_pk"), ("idx_certificates_not_after", "not_after")] {
            manager.create_index(Index::create().name(name).table("certificates").col(col).to_owned()).await?;
        }
        manager.create_table(audit_log()).await?;
        manager
            .create_index(Index::create().name("idx_audit_subject").table("audit_log").col("subject_user").to_owned())
            .await?;
        manager.create_table(mail_outbox()).await?;
        let pending = Index::create()
            .name("idx_mail_pending")
            .table("mail_outbox")
            .col("status")
            .col("next_attempt_at")
            .to_owned();
        manager.create_index(pending).await?;
        manager.create_table(used_tokens()).await?;
        append_only_audit_log(manager).await
    }
}

fn organizations() -> TableCreateStatement {
    Table::create()
        .table("organizations")
        .col(big_pk_auto("id"))
        .col(string_uniq("name"))
        .col(integer("certificate_limit").default(20))
        .col(timestamp_with_time_zone("created_at"))
        .to_owned()
}

fn users() -> TableCreateStatement {
    Table::create()
        .table("users")
        .col(big_pk_auto("id"))
        .col(string_len_uniq("user_id", 12))
        .col(big_integer_null("org_id"))
        .col(string_len("role", 16))
        .col(string("password_hash"))
        .col(string("email"))
        .col(boolean("must_change_password"))
        .col(integer("failures").default(0))
        .col(timestamp_with_time_zone_null("locked_until"))
        .col(integer("lock_count").default(0))
        .col(timestamp_with_time_zone_null("blocked_at"))
        .col(big_integer("version").default(0))
        .col(big_integer("issue_seq").default(0))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .foreign_key(ForeignKey::create().from("users", "org_id").to("organizations", "id"))
        .to_owned()
}

fn certificates() -> TableCreateStatement {
    Table::create()
        .table("certificates")
        .col(big_pk_auto("id"))
        .col(string_len_uniq("serial", 40))
        .col(big_integer("user_pk"))
        .col(big_integer_null("org_id"))
        .col(string_len("subject_cn", 12))
        .col(timestamp_with_time_zone("not_before"))
        .col(timestamp_with_time_zone("not_after"))
        .col(string_len_uniq("fingerprint_sha256", 64))
        .col(string_len("key_type", 16))
        .col(string_len("status", 16))
        .col(timestamp_with_time_zone_null("revoked_at"))
        .col(string_len_null("revocation_reason", 32))
        .col(timestamp_with_time_zone("created_at"))
        .foreign_key(ForeignKey::create().from("certificates", "user_pk").to("users", "id"))
        .foreign_key(ForeignKey::create().from("certificates", "org_id").to("organizations", "id"))
        .to_owned()
}

fn audit_log() -> TableCreateStatement {
    Table::create()
        .table("audit_log")
        .col(big_pk_auto("id"))
        .col(timestamp_with_time_zone("at"))
        .col(string_null("actor"))
        .col(string_len("action", 32))
        .col(string_null("subject_user"))
        .col(big_integer_null("org_id"))
        .col(text("detail"))
        .to_owned()
}

fn mail_outbox() -> TableCreateStatement {
    Table::create()
        .table("mail_outbox")
        .col(big_pk_auto("id"))
        .col(string_uniq("dedupe_key"))
        .col(string("to_addr"))
        .col(string("subject"))
        .col(text("body"))
        .col(string_len("status", 16))
        .col(integer("attempts").default(0))
        .col(text_null("last_error"))
        .col(timestamp_with_time_zone("next_attempt_at"))
        .col(timestamp_with_time_zone_null("sent_at"))
        .col(timestamp_with_time_zone("created_at"))
        .to_owned()
}

fn used_tokens() -> TableCreateStatement {
    Table::create()
        .table("used_tokens")
        .col(string_len("jti", 64).primary_key())
        .col(timestamp_with_time_zone("used_at"))
        .col(timestamp_with_time_zone("expires_at"))
        .to_owned()
}

/// The audit log refuses UPDATE and DELETE at the database level.
async fn append_only_audit_log(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            db.execute_unprepared(
                "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log \
                 BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
            )
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log \
                 BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
            )
            .await?;
        }
        DbBackend::Postgres => {
            db.execute_unprepared(
                "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$;",
            )
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log \
                 FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();",
            )
            .await?;
        }
        other => return Err(DbErr::Custom(format!("unsupported database backend {other:?}"))),
    }
    Ok(())
}
