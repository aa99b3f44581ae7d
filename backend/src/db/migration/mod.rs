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
mod m20261210_000017_ocsp_answers;

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
            Box::new(m20261210_000017_ocsp_answers::Migration),
        ]
    }
}

/// Expand, then contract (README "Releases and downgrades"): a migration only adds, so that the
/// release it replaces keeps working on the migrated database during a rolling upgrade. The
/// rolling-upgrade test runs the previous release on it; this reads every migration's source.
#[cfg(test)]
mod tests {
    /// Migrations allowed to drop, rename or tighten (the contract step): each names what no
    /// release in service reads any more. None so far.
    const CONTRACTS: &[&str] = &[];

    /// What only a contract step may do: the schema API's calls, and the same in plain SQL.
    const CONTRACTING: &[&str] = &[
        "drop_table",
        "drop_column",
        "rename_column",
        "rename_table",
        "modify_column",
        "truncate_table",
        "Table::drop(",
        "Table::truncate(",
        "DROP TABLE",
        "DROP COLUMN",
        "RENAME ",
        "ALTER COLUMN",
        "SET NOT NULL",
        "TRUNCATE",
    ];

    /// The problems of migration source `text`: contracting calls, and added columns that are
    /// neither nullable nor defaulted (a previous release inserting rows without them fails).
    fn problems(text: &str) -> Vec<String> {
        let mut found: Vec<String> = CONTRACTING
            .iter()
            .filter(|word| text.to_uppercase().contains(&word.to_uppercase()))
            .map(|word| format!("contracts the schema ({word})"))
            .collect();
        let mut rest = text;
        while let Some(at) = rest.find("add_column(") {
            let call = &rest[at + "add_column(".len()..];
            let mut depth = 1;
            let end = call
                .char_indices()
                .find_map(|(i, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    (depth == 0).then_some(i)
                })
                .unwrap_or(call.len());
            let column = &call[..end];
            // `.not_null()` contains `_null(` too: it is read first, and only a default saves it.
            let defaulted = column.contains(".default(");
            let required = column.contains(".not_null()");
            let rest_of_it = column.replace(".not_null()", "");
            let nullable = rest_of_it.contains("_null(") || rest_of_it.contains(".null()");
            if !(defaulted || (nullable && !required)) {
                found.push(format!("adds a column neither nullable nor defaulted: {column}"));
            }
            rest = &call[end..];
        }
        // A quoted name (`\"region\"` in a Rust string) is not the end of the string.
        let upper = text.to_uppercase().replace("\\\"", "");
        for statement in upper.split("ADD COLUMN").skip(1) {
            let column = statement.split([',', ';', '"']).next().unwrap_or_default();
            if column.contains("NOT NULL") && !column.contains("DEFAULT") {
                found.push(format!("adds a NOT NULL column without a default in SQL: {column}"));
            }
        }
        found
    }

    #[test]
    fn every_migration_only_adds_unless_it_is_a_named_contract_step() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db/migration");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if name == "mod" || CONTRACTS.contains(&name.as_str()) {
                continue;
            }
            let problems = problems(&std::fs::read_to_string(&path).unwrap());
            assert!(problems.is_empty(), "{name}: {problems:?} (README: expand, then contract)");
            checked += 1;
        }
        assert!(checked >= 16, "read {checked} migrations in {}", dir.display());
    }

    #[test]
    fn dropping_renaming_tightening_and_required_columns_are_found() {
        assert!(problems(r#"Table::alter().table("users").add_column(timestamp_with_time_zone_null("x"))"#).is_empty());
        assert!(problems(r#"add_column(integer("refused_attempts").default(0))"#).is_empty());
        assert!(problems(r#"ALTER TABLE users ADD COLUMN x TEXT NOT NULL DEFAULT ''"#).is_empty());
        assert!(problems(r#"add_column(ColumnDef::new("x").string().not_null().default(""))"#).is_empty());
        assert!(problems(r#"add_column(ColumnDef::new("x").string().null())"#).is_empty());
        for bad in [
            r#"Table::alter().table("users").drop_column("email")"#,
            r#"Table::alter().table("users").rename_column("email", "mail")"#,
            r#"Table::drop().table("sessions")"#,
            r#"manager.drop_table(Table::drop().table("x").to_owned())"#,
            r#"Table::alter().table("users").add_column(string("region"))"#,
            "ALTER TABLE users DROP COLUMN email",
            "ALTER TABLE users ALTER COLUMN email SET NOT NULL",
            "ALTER TABLE users ADD COLUMN region TEXT NOT NULL",
            r#"Table::alter().table("users").add_column(ColumnDef::new("region").string().not_null())"#,
            r#"Table::alter().table("users").add_column(string_null("region").not_null())"#,
            r#"execute_unprepared("ALTER TABLE users ADD COLUMN \"region\" TEXT NOT NULL")"#,
        ] {
            assert!(!problems(bad).is_empty(), "{bad}");
        }
    }
}
