//! The request body deadline: a body that has not fully arrived within [`crate::net::BODY_TIMEOUT`]
//! of the request head ends the request with `408 request_timeout` and closes the connection, so
//! a client dripping a body byte by byte holds a connection for at most that long.

use std::{
    cell::Cell,
    future::Future,
    io,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
    time::Duration,
};

use actix_http::{ConnectionType, Payload, error::PayloadError};
use actix_web::{
    Error, HttpMessage, ResponseError,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
    web::Bytes,
};
use futures_core::Stream;
use tokio::time::Sleep;

use crate::error::ApiError;

/// The middleware (`middleware::from_fn(api::body_deadline::middleware)`).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    with_deadline(req, next, crate::net::BODY_TIMEOUT).await
}

async fn with_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    timeout: Duration,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let has_body =
        req.headers().contains_key(header::CONTENT_LENGTH) || req.headers().contains_key(header::TRANSFER_ENCODING);
    if !has_body {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let expired = Rc::new(Cell::new(false));
    let body = DeadlineBody {
        inner: req.take_payload(),
        sleep: Box::pin(tokio::time::sleep(timeout)),
        expired: expired.clone(),
    };
    req.set_payload(Payload::Stream { payload: Box::pin(body) });
    let res = next.call(req).await;
    if !expired.get() {
        return Ok(res?.map_into_boxed_body());
    }
    tracing::info!(timeout = ?timeout, "request body not received in time: 408, connection closed");
    let Ok(res) = res else { return Err(ApiError::RequestTimeout.into()) };
    let (req, _) = res.into_parts();
    let mut answer = ApiError::RequestTimeout.error_response();
    answer.head_mut().set_connection_type(ConnectionType::Close);
    Ok(ServiceResponse::new(req, answer).map_into_boxed_body())
}

/// The request body, failing with a timed-out I/O error once the deadline passes.
struct DeadlineBody {
    inner: Payload,
    sleep: Pin<Box<Sleep>>,
    expired: Rc<Cell<bool>>,
}

impl Stream for DeadlineBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired.get() {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.expired.set(true);
        Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            "request body not received in time",
        )))))
    }
}
