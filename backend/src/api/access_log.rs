//! The middleware around every request (`middleware::from_fn(access_log::middleware)`): it gives
//! the request its ID and sets the [`request_context`] that the audit log and the notices read,
//! writes the access log line, times the request for `cjs_http_request_duration_seconds`, and
//! closes keep-alive connections while the instance drains for a shutdown (so clients move to
//! another instance before this one stops).

use std::time::Instant;

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

use crate::{
    request_context::{self, RequestContext, RequestId},
    state::AppState,
};

/// The response header carrying the request's ID.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

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

/// Requests not written to the access log (a load balancer checks them every second).
fn is_quiet(path: &str) -> bool {
    path.starts_with("/api/health")
}

/// Sets the request's context, logs and times the request, and closes the connection after the
/// answer while the instance drains.
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
    let result = request_context::scope(ctx, next.call(req)).instrument(span.clone()).await;
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
