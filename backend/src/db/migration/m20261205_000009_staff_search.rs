//! The staff screens at a bank's size (10,000 companies, 50,000 users, 1,000,000 certificates,
//! 5,000,000 audit entries): each company's name as searched (`organizations.name_search`: NFKC
//! and lower case, so full-width and half-width forms match; filled here for the companies
//! registered before), and the indexes the paged lists sort and filter by.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &[(&str, &str, &[&str])] = &[
    ("idx_organizations_name_search", "organizations", &["name_search"]),
    ("idx_organizations_created_at", "organizations", &["created_at"]),
    ("idx_users_created_at", "users", &["created_at"]),
    ("idx_users_locked_until", "users", &["locked_until"]),
    // Each user's newest certificate (the user lists' column).
    ("idx_certificates_user_created", "certificates", &["user_pk", "created_at"]),
    // Status with key type, newest first; active ones by expiry (the renewal window, the count of
    // active ones): equality then range on one index, whatever the planner's statistics say.
    ("idx_certificates_status_key_created", "certificates", &["status", "key_type", "created_at"]),
    ("idx_certificates_status_not_after", "certificates", &["status", "not_after"]),
    // The audit list is ordered by (at, id); each filter with the order in one index.
    ("idx_audit_actor", "audit_log", &["actor", "at", "id"]),
    ("idx_audit_subject_at", "audit_log", &["subject_user", "at", "id"]),
    ("idx_audit_action", "audit_log", &["action", "at", "id"]),
    ("idx_audit_at", "audit_log", &["at", "id"]),
    ("idx_audit_client_address", "audit_log", &["client_address", "at", "id"]),
    ("idx_mail_to", "mail_outbox", &["to_addr"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("organizations").add_column(string("name_search").default("")).to_owned())
            .await?;
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        for row in db.query_all_raw(Statement::from_string(backend, "SELECT id, name FROM organizations")).await? {
            let id: i64 = row.try_get("", "id")?;
            let name: String = row.try_get("", "name")?;
            let normalized = crate::domain::names::normalize(&name);
            let sql = match backend {
                DbBackend::Postgres => "UPDATE organizations SET name_search = $1 WHERE id = $2",
                _ => "UPDATE organizations SET name_search = ? WHERE id = ?",
            };
            db.execute_raw(Statement::from_sql_and_values(backend, sql, [normalized.into(), id.into()])).await?;
        }
        for (name, table, cols) in INDEXES {
            let mut index = Index::create();
            index.name(*name).table(*table);
            for col in *cols {
                index.col(*col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }
}
