//! A CA rollover as a service: the data directory's CA retires and a new one takes its place
//! (`crate::pki::CertificateAuthority::rollover`), and the audit log records it.

use sea_orm::DatabaseConnection;
use serde_json::json;
use time::OffsetDateTime;

use crate::{
    audit::{self, Action},
    pki::{CaKeySource, CertificateAuthority},
};

/// The key ids of the CA retired and of the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollover {
    pub retired: String,
    pub new: String,
}

/// Rolls the CA of `data_dir` over (its key from `source`; `current_key_label` names the current
/// key when it is in the token) and writes the audit entry. Instances running go on with the CA
/// they loaded until they are restarted.
pub async fn rollover(
    db: &DatabaseConnection,
    data_dir: &std::path::Path,
    source: &CaKeySource,
    current_key_label: Option<&str>,
    now: OffsetDateTime,
) -> anyhow::Result<Rollover> {
    anyhow::ensure!(
        source.in_data_dir(),
        "ca_cert/ca_key name CA files outside the data directory: roll them over by hand (README, CA rollover)"
    );
    let token = source.token();
    let (retired, new) = CertificateAuthority::rollover(data_dir, token, current_key_label, now)?;
    let entry = audit::Entry {
        action: Action::CaRollover,
        actor: Some("cli"),
        subject_user: None,
        org_id: None,
        detail: json!({"retired": retired, "new": new, "key_in_token": token.is_some()}),
    };
    audit::record(db, entry, now).await?;
    Ok(Rollover { retired, new })
}
