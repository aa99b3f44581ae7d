//! [`Mounted`]: lets an async task that outlives its screen notice that the screen is gone, so a
//! late answer neither writes into a disposed screen nor navigates the user somewhere unexpected;
//! [`screen_action`]: a screen's request whose answer is handled only while the screen is shown.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use leptos::prelude::{Action, on_cleanup};

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

/// An action of the current screen: `send` makes the request for an input, `receive` handles its
/// answer — unless the screen is gone by then, when the answer is dropped. Call it in a
/// component's body.
pub fn screen_action<I, O, Fut>(
    send: impl Fn(I) -> Fut + 'static,
    receive: impl Fn(O) + Clone + 'static,
) -> Action<I, ()>
where
    I: Clone + 'static,
    O: 'static,
    Fut: Future<Output = O> + 'static,
{
    let mounted = Mounted::track();
    Action::new_local(move |input: &I| {
        let answer = send(input.clone());
        let mounted = mounted.clone();
        let receive = receive.clone();
        async move {
            let answer = answer.await;
            if mounted.get() {
                receive(answer);
            }
        }
    })
}
