//! [`Mounted`]: lets an async task that outlives its screen notice that the screen is gone, so a
//! late answer neither writes into a disposed screen nor navigates the user somewhere unexpected.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use leptos::prelude::on_cleanup;

/// True until the reactive owner (the screen) that created it is cleaned up.
#[derive(Clone)]
pub struct Mounted(Arc<AtomicBool>);

impl Mounted {
    /// Tracks the current reactive owner; call it in a component's body.
    pub fn track() -> Self {
        let flag = Arc::new(AtomicBool::new(true));
        let on_unmount = Arc::clone(&flag);
        on_cleanup(move || on_unmount.store(false, Ordering::Relaxed));
        Self(flag)
    }

    /// Whether the screen is still shown.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
