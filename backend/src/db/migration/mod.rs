//! Schema migrations, applied at start-up by every `cjs` command. One migration per file.

use sea_orm_migration::prelude::*;

mod m20261125_000001_create_schema;
mod m20261125_000002_create_sessions_and_crls;
mod m20261126_000003_certificate_search_indexes;
mod m20261127_000004_add_audit_client_address;
mod m20261201_000005_lockout_refusals_and_unknown_ids;
mod m20261202_000006_revocation_counter;
mod m20261203_000007_issuer_of_certificates_and_crls;
mod m20261204_000008_add_audit_request_id;
mod m20261205_000009_staff_search;
mod m20261206_000010_active_certificates_by_key_type;
mod m20261206_000011_account_lifecycle;
mod m20261207_000012_certified_until;
mod m20261208_000013_password_revoked;
mod m20261208_000014_audit_by_subject_and_action;
mod m20261209_000015_audit_chain;
mod m20261209_000016_approvals;

/// All migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_schema::Migration),
            Box::new(m20261125_000002_create_sessions_and_crls::Migration),
            Box::new(m20261126_000003_certificate_search_indexes::Migration),
            Box::new(m20261127_000004_add_audit_client_address::Migration),
            Box::new(m20261201_000005_lockout_refusals_and_unknown_ids::Migration),
            Box::new(m20261202_000006_revocation_counter::Migration),
            Box::new(m20261203_000007_issuer_of_certificates_and_crls::Migration),
            Box::new(m20261204_000008_add_audit_request_id::Migration),
            Box::new(m20261205_000009_staff_search::Migration),
            Box::new(m20261206_000010_active_certificates_by_key_type::Migration),
            Box::new(m20261206_000011_account_lifecycle::Migration),
            Box::new(m20261207_000012_certified_until::Migration),
            Box::new(m20261208_000013_password_revoked::Migration),
            Box::new(m20261208_000014_audit_by_subject_and_action::Migration),
            Box::new(m20261209_000015_audit_chain::Migration),
            Box::new(m20261209_000016_approvals::Migration),
        ]
    }
}
