//! From an accepted TCP stream to a TLS connection with a known client address: the PROXY
//! protocol header of trusted proxies, the per-address cap, and the TLS handshake, all within
//! [`super::HANDSHAKE_TIMEOUT`]; then the first byte of the first request, within
//! [`super::REQUEST_HEAD_TIMEOUT`]. Refused connections are closed without a byte written.
//!
//! The connection goes to the HTTP layer only when its first request has begun: actix-http's
//! HTTP/1 dispatcher takes an 8 KiB read and an 8 KiB write buffer the moment it is made, and a
//! connection that has finished its handshake and sends nothing would hold them for nothing.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use actix_http::Protocol;
use actix_server::GracefulShutdownSignal;
use actix_web::rt::net::TcpStream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio_rustls::{TlsAcceptor, server::TlsStream};

use super::{
    limit::{ConnectionLimiter, ConnectionSlot, LOG_INTERVAL, LogThrottle},
    networks::Networks,
    proxy_protocol::{self, Header, HeaderError, Prefix},
};

/// An established client connection: the TLS stream, the client's address (from the PROXY
/// header when a trusted proxy relayed it) and its slot under the per-address cap, freed when the
/// connection is dropped.
///
/// Each request on it must be answered within [`super::REQUEST_DEADLINE`] of its first byte:
/// actix-http times only the head of a connection's *first* request, so a client could otherwise
/// answer one request and then drip the next head forever.
#[derive(Debug)]
pub struct ClientConnection {
    tls: TlsStream<TcpStream>,
    client: SocketAddr,
    _slot: ConnectionSlot,
    /// Armed by the first byte read after the last byte written; cleared by the next write.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The first request's first byte, read before the HTTP layer took the connection
    /// ([`Acceptor::accept`]); the HTTP layer reads it first.
    first: Option<u8>,
    /// The first request's head must have ended [`super::REQUEST_HEAD_TIMEOUT`] after the
    /// handshake, though the HTTP layer (whose own head timer starts when it takes the
    /// connection) takes it only at the head's first byte. Armed at the end of the handshake,
    /// cleared at the blank line that ends the head.
    head_by: Option<(Pin<Box<tokio::time::Sleep>>, HeadEnd)>,
}

/// Where a scan for the blank line that ends a request head stands: in a line, at a line's
/// start, or after a line's start and a `\r`. Lines may end in `\r\n` or `\n`, as the HTTP
/// layer accepts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum HeadEnd {
    #[default]
    InLine,
    LineStart,
    LineStartCr,
}

impl HeadEnd {
    /// Scans `bytes`: `None` once the head has ended.
    fn scan(mut self, bytes: &[u8]) -> Option<Self> {
        for &b in bytes {
            self = match (self, b) {
                (Self::LineStart | Self::LineStartCr, b'\n') => return None,
                (Self::LineStart, b'\r') => Self::LineStartCr,
                (_, b'\n') => Self::LineStart,
                _ => Self::InLine,
            };
        }
        Some(self)
    }
}

impl ClientConnection {
    /// The TLS session (client certificates, negotiated parameters).
    pub fn tls_session(&self) -> &rustls::ServerConnection {
        self.tls.get_ref().1
    }

    /// The client's address, as the handlers see it in `req.peer_addr()`.
    pub fn client(&self) -> SocketAddr {
        self.client
    }
}

impl AsyncRead for ClientConnection {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if buf.remaining() > 0
            && let Some(first) = self.first.take()
        {
            buf.put_slice(&[first]);
            return Poll::Ready(Ok(()));
        }
        if let Some(deadline) = self.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "request not answered in time")));
        }
        if let Some((head_by, _)) = self.head_by.as_mut()
            && head_by.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "request head not received in time")));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.tls).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            if self.deadline.is_none() {
                let mut deadline = Box::pin(tokio::time::sleep(super::REQUEST_DEADLINE));
                // Registers the waker, so a client that falls silent is cut off too.
                let _ = deadline.as_mut().poll(cx);
                self.deadline = Some(deadline);
            }
            if let Some((_, scan)) = self.head_by.as_mut() {
                match scan.scan(&buf.filled()[before..]) {
                    Some(next) => *scan = next,
                    None => self.head_by = None,
                }
            }
        }
        polled
    }
}

impl ClientConnection {
    /// Waits for the first byte of the first request and keeps it: `false` when the client closed
    /// the connection, or its head's deadline (`head_within` from now, the end of the handshake)
    /// passed first, or the server began to stop first.
    async fn first_request(&mut self, head_within: Duration, shutdown: &GracefulShutdownSignal) -> bool {
        // Also what ends this wait: the read fails once it has passed.
        self.head_by = Some((Box::pin(tokio::time::sleep(head_within)), HeadEnd::default()));
        let mut byte = [0u8; 1];
        let read = tokio::select! {
            read = self.read(&mut byte) => read,
            () = shutdown.notified() => {
                tracing::debug!(peer = %self.client, "server stopping: closed before its first request");
                return false;
            }
        };
        match read {
            Ok(1) => {
                self.first = Some(byte[0]);
                true
            }
            Ok(_) => {
                tracing::debug!(peer = %self.client, "closed by the client before its first request");
                false
            }
            Err(e) => {
                tracing::debug!(peer = %self.client, error = %e, "connection closed before its first request");
                false
            }
        }
    }

    fn answered(&mut self, written: &Poll<io::Result<usize>>) {
        if matches!(written, Poll::Ready(Ok(n)) if *n > 0) {
            self.deadline = None;
        }
    }
}

impl AsyncWrite for ClientConnection {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.tls).poll_write(cx, buf);
        self.answered(&written);
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.tls).poll_write_vectored(cx, bufs);
        self.answered(&written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.tls.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_shutdown(cx)
    }
}

/// Why a connection was closed before it reached the HTTP layer.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("PROXY protocol header from a peer that is not a trusted proxy: closed (check trusted_proxies)")]
    UntrustedHeader,
    #[error("connection from a trusted proxy without a valid PROXY protocol v2 header: closed")]
    MissingHeader(#[source] HeaderError),
    #[error("over the per-address connection cap")]
    OverCap,
    #[error("connection failed before the TLS handshake")]
    Io(#[source] io::Error),
    #[error("TLS handshake failed")]
    Tls(#[source] io::Error),
    #[error("PROXY header and TLS handshake not done within {0:?}")]
    Timeout(Duration),
}

/// Accepts connections for the HTTP service; cheap to clone (one per worker).
#[derive(Clone)]
pub struct Acceptor {
    inner: Arc<Inner>,
}

struct Inner {
    tls: TlsAcceptor,
    trusted: Networks,
    limiter: Arc<ConnectionLimiter>,
    /// Connections still waiting for their first request close when the server begins to stop.
    shutdown: GracefulShutdownSignal,
    /// PROXY protocol misuse is logged at warn, at most once per interval.
    header_refusals: LogThrottle,
}

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acceptor")
            .field("trusted", &self.inner.trusted)
            .field("limiter", &self.inner.limiter)
            .finish_non_exhaustive()
    }
}

impl Acceptor {
    pub fn new(
        tls: Arc<rustls::ServerConfig>,
        trusted: Networks,
        max_connections_per_address: usize,
        shutdown: GracefulShutdownSignal,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                tls: TlsAcceptor::from(tls),
                trusted,
                limiter: ConnectionLimiter::new(max_connections_per_address),
                shutdown,
                header_refusals: LogThrottle::new(LOG_INTERVAL),
            }),
        }
    }

    /// The request of `actix_http::HttpService`: the connection, HTTP/1.1 (our only ALPN
    /// protocol) and the client address, once its first request has begun. `Err` means the
    /// connection was refused or closed (it has been logged).
    pub async fn accept(&self, tcp: TcpStream) -> Result<(ClientConnection, Protocol, Option<SocketAddr>), ()> {
        let peer = match tcp.peer_addr() {
            Ok(peer) => peer,
            Err(e) => {
                tracing::debug!(error = %e, "connection gone before it could be served");
                return Err(());
            }
        };
        let timeout = super::HANDSHAKE_TIMEOUT;
        // Boxed: the handshake's state is freed when it ends, not kept beside the wait below.
        let result = match tokio::time::timeout(timeout, Box::pin(self.establish(tcp, peer))).await {
            Ok(result) => result,
            Err(_) => Err(Refusal::Timeout(timeout)),
        };
        match result {
            Ok(mut conn) => {
                if !conn.first_request(super::REQUEST_HEAD_TIMEOUT, &self.inner.shutdown).await {
                    return Err(());
                }
                let client = conn.client;
                Ok((conn, Protocol::Http1, Some(client)))
            }
            Err(refusal) => {
                self.log(&refusal, peer);
                Err(())
            }
        }
    }

    async fn establish(&self, mut tcp: TcpStream, peer: SocketAddr) -> Result<ClientConnection, Refusal> {
        let (client, slot) = if self.inner.trusted.contains(peer.ip()) {
            let client = match read_proxy_header(&mut tcp).await? {
                Header::Proxy { source } => source,
                Header::Local | Header::Unknown => peer,
            };
            (client, self.slot(client)?)
        } else {
            // The slot first: a client holding silent connections is capped before they cost more.
            let slot = self.slot(peer)?;
            if begins_with_proxy_header(&tcp).await.map_err(Refusal::Io)? {
                return Err(Refusal::UntrustedHeader);
            }
            (peer, slot)
        };
        let tls = self.inner.tls.accept(tcp).await.map_err(Refusal::Tls)?;
        Ok(ClientConnection { tls, client, _slot: slot, deadline: None, first: None, head_by: None })
    }

    fn slot(&self, client: SocketAddr) -> Result<ConnectionSlot, Refusal> {
        self.inner.limiter.acquire(client.ip()).ok_or(Refusal::OverCap)
    }

    fn log(&self, refusal: &Refusal, peer: SocketAddr) {
        match refusal {
            // Logged, with a count, by the limiter.
            Refusal::OverCap => {}
            Refusal::UntrustedHeader | Refusal::MissingHeader(_) => {
                if let Some(count) = self.inner.header_refusals.record(Instant::now()) {
                    tracing::warn!(peer = %peer, refused = count, error = %error_chain(refusal), "PROXY protocol refusal (count since the last such line)");
                }
            }
            Refusal::Io(_) | Refusal::Tls(_) | Refusal::Timeout(_) => {
                tracing::debug!(peer = %peer, error = %error_chain(refusal), "connection closed before HTTP");
            }
        }
    }
}

/// `e` and its sources, `: `-separated.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Reads exactly the PROXY protocol v2 header of a trusted proxy's connection: 16 bytes, then the
/// length they announce. What follows (the TLS ClientHello) stays in the socket.
async fn read_proxy_header(tcp: &mut TcpStream) -> Result<Header, Refusal> {
    let mut fixed = [0u8; proxy_protocol::V2_FIXED_LEN];
    tcp.read_exact(&mut fixed).await.map_err(|e| header_read_error(e, proxy_protocol::V2_FIXED_LEN))?;
    let fixed = proxy_protocol::parse_fixed(&fixed).map_err(Refusal::MissingHeader)?;
    let mut block = vec![0u8; usize::from(fixed.len)];
    tcp.read_exact(&mut block).await.map_err(|e| header_read_error(e, block.len()))?;
    proxy_protocol::parse_addresses(&fixed, &block).map_err(Refusal::MissingHeader)
}

/// A header cut short by the end of the stream is a missing header; other errors are I/O.
fn header_read_error(e: io::Error, needed: usize) -> Refusal {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        Refusal::MissingHeader(HeaderError::Truncated { needed, got: 0 })
    } else {
        Refusal::Io(e)
    }
}

/// Looks at (without consuming) the first bytes of an untrusted peer: whether they are a PROXY
/// header. A TLS ClientHello decides at its first byte; only a prefix of a signature waits for more.
async fn begins_with_proxy_header(tcp: &TcpStream) -> io::Result<bool> {
    let mut buf = [0u8; proxy_protocol::V2_SIGNATURE.len()];
    loop {
        let n = tcp.peek(&mut buf).await?;
        if n == 0 {
            return Ok(false); // closed: the TLS handshake will fail on its own
        }
        match proxy_protocol::classify_prefix(&buf[..n]) {
            Prefix::Proxy => return Ok(true),
            Prefix::NotProxy => return Ok(false),
            // `peek` returns at once while those bytes wait unread: poll gently until more come.
            Prefix::Undecided => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HeadEnd;

    fn ended(chunks: &[&[u8]]) -> bool {
        let mut scan = HeadEnd::default();
        for chunk in chunks {
            match scan.scan(chunk) {
                Some(next) => scan = next,
                None => return true,
            }
        }
        false
    }

    #[test]
    fn a_head_ends_at_its_blank_line_in_one_read_or_split_across_reads() {
        assert!(ended(&[b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"]));
        assert!(ended(&[b"GET / HTTP/1.1\r\nHost: a\r", b"\n", b"\r", b"\n"]));
        assert!(ended(&[b"GET / HTTP/1.1\nHost: a\n\n"]), "bare line feeds, as the HTTP layer accepts");
    }

    #[test]
    fn a_head_without_its_blank_line_has_not_ended() {
        assert!(!ended(&[b"GET / HTTP/1.1\r\nHost: a\r\n"]));
        assert!(!ended(&[b"GET / HTTP/1.1\r\nHost: a\r\n\r"]));
        assert!(!ended(&[b"GET / HTTP/1.1\r\nHost: a\r\r\n"]), "a carriage return in a line is not a blank line");
        assert!(!ended(&[b"G", b"E", b"T"]));
    }
}
