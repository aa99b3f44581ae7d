//! What is known about the request being served, for code below the handlers that records it
//! (the audit log, notices, the throttle): the client's address and the request's ID. Set once
//! per request by [`middleware`] around the handler; outside a request (CLI, background
//! workers) it is `None`.
//!
//! The address is the TCP peer's, or the client's as a trusted proxy reported it in a PROXY
//! protocol header (`req.peer_addr()` either way). The ID is random, sent back in
//! `X-Request-Id`, carried by every log line of the request (the `request` span) and written
//! into its audit entries, so that an operator goes from an audit line to the request's logs.
//!
//! The same middleware writes the access log line, times the request for
//! `cjs_http_request_duration_seconds`, and closes keep-alive connections while the instance
//! drains for a shutdown (so clients move to another instance before this one stops).

use std::{net::IpAddr, time::Instant};

use actix_web::{
    Error,
    body::{BodySize, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{
        ConnectionType,
        header::{HeaderName, HeaderValue},
    },
    middleware::Next,
    web,
};
use tracing::Instrument;

use crate::state::AppState;

/// The response header carrying the request's ID.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

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

/// Runs `f` with `ctx` as the request context (tests, and [`middleware`]).
pub async fn scope<F: Future>(ctx: RequestContext, f: F) -> F::Output {
    CONTEXT.scope(ctx, f).await
}

/// The method as a metric label: the standard ones, else `other` (a client may send any token,
/// and each would be a series of its own).
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method as M;
    match *method {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Requests not written to the access log (a load balancer checks them every second).
/// A query string as the access log writes it: the parameter names, each value `*`. Searches
/// carry e-mail addresses, company names and user IDs (and cursors carry sort keys), which the
/// log has no need to keep.
fn redacted_query(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, "")) => format!("{name}="),
            Some((name, _)) => format!("{name}=*"),
            None => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn is_quiet(path: &str) -> bool {
    path.starts_with("/api/health")
}

/// The middleware (`middleware::from_fn(request_context::middleware)`) that sets the context,
/// logs and times the request.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = RequestId::random();
    let ctx = RequestContext { client: req.peer_addr().map(|a| a.ip()), request_id: Some(id) };
    let started = Instant::now();
    let quiet = is_quiet(req.path());
    let method = req.method().clone();
    let line = match req.query_string() {
        "" => format!("{} {} {:?}", req.method(), req.path(), req.version()),
        q => format!("{} {}?{} {:?}", req.method(), req.path(), redacted_query(q), req.version()),
    };
    let draining = req.app_data::<web::Data<AppState>>().is_some_and(|s| s.lifecycle.is_draining());
    let span = tracing::info_span!("request", request_id = %id);
    let result = scope(ctx, next.call(req)).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let (status, route, bytes) = match &result {
        Ok(res) => {
            let bytes = match res.response().body().size() {
                BodySize::Sized(n) => n.to_string(),
                BodySize::None | BodySize::Stream => "-".to_owned(),
            };
            (res.status(), res.request().match_pattern(), bytes)
        }
        Err(e) => (e.as_response_error().status_code(), None, "-".to_owned()),
    };
    crate::metrics::metrics().request(
        route.as_deref().unwrap_or("unmatched"),
        method_label(&method),
        status.as_u16(),
        elapsed.as_secs_f64(),
    );
    if !quiet {
        let client = ctx.client.map_or_else(|| "-".to_owned(), |ip| ip.to_canonical().to_string());
        let ms = elapsed.as_secs_f64() * 1000.0;
        span.in_scope(
            || tracing::info!(target: "cjs::access", "{client} \"{line}\" {} {bytes} {ms:.3}ms", status.as_u16()),
        );
    }
    let mut res = result?;
    res.headers_mut().insert(REQUEST_ID_HEADER, HeaderValue::from_str(&id.to_string()).expect("hex digits"));
    if draining {
        // The client opens its next connection elsewhere (through the load balancer).
        res.response_mut().head_mut().set_connection_type(ConnectionType::Close);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_access_log_keeps_parameter_names_but_not_their_values() {
        assert_eq!(
            super::redacted_query("email=taro%40example.co.jp&q=%E6%A0%AA&sort=-name&cursor=eyJ.x&limit="),
            "email=*&q=*&sort=*&cursor=*&limit="
        );
        assert_eq!(super::redacted_query("signer"), "signer");
    }

    use super::*;

    #[test]
    fn a_method_outside_the_standard_ones_is_one_label() {
        let odd = actix_web::http::Method::from_bytes(b"FOO123").unwrap();
        assert_eq!(method_label(&odd), "other");
        assert_eq!(method_label(&actix_web::http::Method::POST), "POST");
    }
}
