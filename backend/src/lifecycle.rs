//! Where the instance is in its life: serving, or draining for a shutdown. While it drains,
//! readiness answers 503 and connections close after their answer, while requests are still
//! served, so that a load balancer moves clients to another instance before this one stops.

use std::sync::atomic::{AtomicBool, Ordering};

/// Serving or draining; shared by the handlers (readiness), the access-log middleware (closing
/// connections) and the shutdown sequence that starts the drain.
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }
}
