//! The plain-HTTP listeners (`http_listen`: revocation data; `metrics_listen`: metrics) under the
//! same per-address cap as the HTTPS one ([`super::limit`]), each with a limiter of its own: a
//! client holding every slot of one listener leaves the others alone. A refused connection is
//! closed without a byte written.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use actix_http::Protocol;
use actix_web::rt::net::TcpStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::limit::{ConnectionLimiter, ConnectionSlot};

/// A plain TCP connection holding its slot under the cap until it is dropped.
#[derive(Debug)]
pub struct PlainConnection {
    tcp: TcpStream,
    _slot: ConnectionSlot,
}

/// Accepts the connections of one plain-HTTP listener; cheap to clone (one per worker).
#[derive(Debug, Clone)]
pub struct PlainAcceptor {
    limiter: Arc<ConnectionLimiter>,
}

impl PlainAcceptor {
    pub fn new(max_connections_per_address: usize) -> Self {
        Self { limiter: ConnectionLimiter::new(max_connections_per_address) }
    }

    /// The request of `actix_http::HttpService`; `Err` means refused and closed (the limiter
    /// logs refusals, with a count).
    pub(crate) fn accept(&self, tcp: TcpStream) -> Result<(PlainConnection, Protocol, Option<SocketAddr>), ()> {
        let peer =
            tcp.peer_addr().map_err(|e| tracing::debug!(error = %e, "connection gone before it could be served"))?;
        let slot = self.limiter.acquire(peer.ip()).ok_or(())?;
        Ok((PlainConnection { tcp, _slot: slot }, Protocol::Http1, Some(peer)))
    }
}

impl AsyncRead for PlainConnection {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for PlainConnection {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
