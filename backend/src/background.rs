//! The background tasks of `cjs serve`, started by [`start`]: mail delivery, the expiry reminder
//! scan, the audit log's sealer and checkpoints, pruning the lock state of unknown IDs, the CRL refresh, and SQLite's query statistics. Each runs for the life of the
//! process, so one that ends — by a panic or by returning — is a fault: [`Tasks::first_death`]
//! names it and why, and the server stops with a non-zero exit rather than run on without, say,
//! its mail.

use std::{collections::HashMap, future::Future, time::Duration};

use tokio::task::{Id, JoinSet};

use crate::{auth::unknown_ids, mail, state::AppState};

/// How often the lock state of unknown IDs is pruned (R2 for unknown IDs keeps a bounded table).
const UNKNOWN_ID_PRUNING_INTERVAL: Duration = Duration::from_secs(3600);

/// How often the CRL refresh looks for revocations of other instances and the nextUpdate.
const CRL_REFRESH_INTERVAL: Duration = Duration::from_secs(300);

/// How often committed audit entries are chained.
const AUDIT_SEAL_INTERVAL: Duration = Duration::from_secs(1);

/// Starts every background task of a serving instance.
pub fn start(state: &AppState) -> anyhow::Result<Tasks> {
    let mut tasks = Tasks::default();
    let (db, mail) = (&state.db, &state.config.mail);
    tasks.spawn("unknown-ID pruning", unknown_ids::prune_forever(db.clone(), UNKNOWN_ID_PRUNING_INTERVAL));
    // Mail (R2, R6): deliver the outbox, and queue the expiry reminders.
    tasks.spawn("mail delivery", mail::worker::Worker::new(db.clone(), mail)?.run_forever(mail.interval));
    let scan = mail::reminders::scan_forever(
        db.clone(),
        mail.reminder_days.clone(),
        state.public_url.clone(),
        mail.reminder_interval,
    );
    tasks.spawn("expiry reminder scan", scan);
    // The CRL is signed after revocations, not inside them (certificates::revocation).
    tasks.spawn("CRL refresh", state.revocations.clone().refresh_forever(CRL_REFRESH_INTERVAL));
    if state.config.ocsp_preproduce {
        let ocsp = state.ocsp.clone().preproduce_forever(state.config.ocsp_preproduce_interval);
        tasks.spawn("OCSP pre-production", ocsp);
    }
    // The audit log's chain, and its signed checkpoints (audit::chain, audit::checkpoint).
    tasks.spawn("audit sealer", crate::audit::chain::seal_forever(db.clone(), AUDIT_SEAL_INTERVAL));
    let checkpoints = crate::audit::checkpoint::make_forever(
        db.clone(),
        state.audit_key.clone(),
        state.config.audit.checkpoints.clone(),
    );
    tasks.spawn("audit checkpoints", checkpoints);
    if state.config.is_sqlite() {
        let optimize = crate::db::optimize_forever(db.clone(), crate::db::OPTIMIZE_INTERVAL);
        tasks.spawn("SQLite statistics", optimize);
    }
    Ok(tasks)
}

/// The running background tasks, by name.
#[derive(Debug, Default)]
pub struct Tasks {
    set: JoinSet<()>,
    names: HashMap<Id, &'static str>,
}

impl Tasks {
    /// Starts `task` under `name`.
    pub fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        let handle = self.set.spawn(task);
        self.names.insert(handle.id(), name);
    }

    /// Waits until one of the tasks ends, and says which and why. Pending forever when there are
    /// none.
    pub async fn first_death(&mut self) -> anyhow::Error {
        let Some(ended) = self.set.join_next_with_id().await else { return std::future::pending().await };
        let (id, cause) = match ended {
            Ok((id, ())) => (id, "it returned".to_owned()),
            Err(e) => {
                let id = e.id();
                let cause = if e.is_panic() {
                    format!("it panicked: {}", panic_message(e.into_panic()))
                } else {
                    e.to_string()
                };
                (id, cause)
            }
        };
        let name = self.names.get(&id).copied().unwrap_or("unnamed");
        anyhow::anyhow!("background task `{name}` stopped: {cause}")
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload.downcast_ref::<&str>().map_or_else(|| "(no message)".to_owned(), |s| (*s).to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_task_is_named_with_its_message() {
        let mut tasks = Tasks::default();
        tasks.spawn("forever", std::future::pending());
        tasks.spawn("mail worker", async { panic!("outbox table missing") });
        let e = tasks.first_death().await.to_string();
        assert!(e.contains("`mail worker`") && e.contains("panicked: outbox table missing"), "{e}");
    }

    #[tokio::test]
    async fn a_task_that_returns_is_a_death_too() {
        let mut tasks = Tasks::default();
        tasks.spawn("reminder scan", async {});
        let e = tasks.first_death().await.to_string();
        assert!(e.contains("`reminder scan`") && e.contains("returned"), "{e}");
    }

    #[tokio::test]
    async fn no_tasks_never_ends() {
        let mut tasks = Tasks::default();
        let waited = tokio::time::timeout(std::time::Duration::from_millis(20), tasks.first_death()).await;
        assert!(waited.is_err());
    }
}
