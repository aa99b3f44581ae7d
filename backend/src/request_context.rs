//! What is known about the request being served, for code below the handlers that records it
//! (the audit log, notices, the throttle): the client's address. Set once per request by
//! [`middleware`] around the handler; outside a request (CLI, background workers) it is `None`.
//!
//! The address is the TCP peer's, or the client's as a trusted proxy reported it in a PROXY
//! protocol header (`req.peer_addr()` either way).

use std::net::IpAddr;

use actix_web::{
    Error,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
};

/// The request's context.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestContext {
    /// The client's IP address.
    pub client: Option<IpAddr>,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// The client address of the request being served on this task, if any.
pub fn client_address() -> Option<IpAddr> {
    CONTEXT.try_with(|c| c.client).ok().flatten()
}

/// Runs `f` with `ctx` as the request context (tests, and [`middleware`]).
pub async fn scope<F: Future>(ctx: RequestContext, f: F) -> F::Output {
    CONTEXT.scope(ctx, f).await
}

/// The middleware (`middleware::from_fn(request_context::middleware)`) that sets the context.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let ctx = RequestContext { client: req.peer_addr().map(|a| a.ip()) };
    scope(ctx, next.call(req)).await
}
