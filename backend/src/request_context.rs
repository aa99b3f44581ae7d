//! What is known about the request being served, for code below the handlers that records it
//! (the audit log, notices, the throttle): the client's address and the request's ID. Set once
//! per request by the access-log middleware (`crate::api::access_log`) around the handler;
//! outside a request (CLI, background workers) it is `None`. A leaf: it imports nothing of the
//! crate, so everything below the handlers may read it.
//!
//! The address is the TCP peer's, or the client's as a trusted proxy reported it in a PROXY
//! protocol header (`req.peer_addr()` either way). The ID is random, sent back in
//! `X-Request-Id`, carried by every log line of the request (the `request` span) and written
//! into its audit entries, so that an operator goes from an audit line to the request's logs.

use std::net::IpAddr;

/// A request's ID: 64 random bits, shown as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestId(u64);

impl RequestId {
    pub fn random() -> Self {
        Self(rand::random())
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// The request's context.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestContext {
    /// The client's IP address.
    pub client: Option<IpAddr>,
    pub request_id: Option<RequestId>,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// The client address of the request being served on this task, if any.
pub fn client_address() -> Option<IpAddr> {
    CONTEXT.try_with(|c| c.client).ok().flatten()
}

/// The ID of the request being served on this task, if any.
pub fn request_id() -> Option<RequestId> {
    CONTEXT.try_with(|c| c.request_id).ok().flatten()
}

/// Runs `f` with `ctx` as the request context (tests, and the access-log middleware).
pub async fn scope<F: Future>(ctx: RequestContext, f: F) -> F::Output {
    CONTEXT.scope(ctx, f).await
}
