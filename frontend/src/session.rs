//! Who is logged in, as far as the app knows: the last `Me` the server sent (from `POST
//! /api/login` or `GET /api/me`). Only for display (the header); the server decides every access
//! with its HttpOnly session cookie, which the app never sees.

use common::{ErrorBody, api::Me};
use leptos::prelude::*;

use crate::api;

/// The logged-in user, or `None`; `Copy` because it is a signal handle.
#[derive(Clone, Copy)]
pub struct Session {
    pub me: RwSignal<Option<Me>>,
}

impl Session {
    /// Creates an empty session and provides it to the component tree.
    pub fn provide() -> Self {
        let session = Self { me: RwSignal::new(None) };
        provide_context(session);
        session
    }

    /// The session provided by the app.
    pub fn expect() -> Self {
        expect_context::<Self>()
    }

    /// Asks the server who is logged in (`GET /api/me`) and remembers the answer.
    pub fn load(self) -> LocalResource<Result<Me, ErrorBody>> {
        LocalResource::new(move || async move {
            let answer = api::me().await;
            self.me.set(answer.as_ref().ok().cloned());
            answer
        })
    }
}
