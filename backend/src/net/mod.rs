//! The connection path in front of the HTTP service: who the client is and how long and how often
//! it may hold the server's attention.
//!
//! Every accepted TCP connection goes through [`accept::Acceptor`]: a peer listed in
//! `trusted_proxies` must open with a PROXY protocol v2 header ([`proxy_protocol`]) whose source
//! becomes the client address; any other peer that opens with a PROXY header is closed. The
//! client address then takes one of its `max_connections_per_address` slots ([`limit`]) before the
//! TLS handshake, which must finish within [`HANDSHAKE_TIMEOUT`]. The first request's head must
//! follow within [`REQUEST_HEAD_TIMEOUT`] of the handshake; the HTTP layer takes the connection
//! (and its buffers) only at the head's first byte, and times the head again from there (actix's
//! `client_request_timeout`). It reads the body within
//! [`BODY_TIMEOUT`] (`crate::api::body_deadline`), and every later request on the connection must be answered
//! within [`REQUEST_DEADLINE`] of its first byte. Handlers see the client address as `req.peer_addr()`.
//! Addresses are counted per subscriber ([`subscriber`]): an IPv4 address, or an IPv6 /64. The
//! plain-HTTP listeners take the same cap, each its own ([`plain`]).

pub mod accept;
pub mod limit;
pub mod networks;
pub mod plain;
pub mod proxy_protocol;

use std::time::Duration;

pub use accept::{Acceptor, ClientConnection};
pub use plain::PlainAcceptor;

/// The address that stands for one subscriber when counting connections and password attempts:
/// an IPv4 address as it is (IPv4-mapped IPv6 as IPv4), an IPv6 address's /64 prefix (every
/// IPv6 subscriber gets at least a /64, so its single addresses cost an attacker nothing).
pub fn subscriber(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip.to_canonical() {
        std::net::IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            std::net::IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}
pub use networks::{IpNetwork, Networks};

/// From the TCP accept to the end of the TLS handshake, PROXY header included.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// From the end of the handshake to the end of the first request's head (the connection is
/// closed after it; actix-http's own timer, from the head's first byte, answers 408).
pub const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// For the whole request body, counted from the end of the head (JSON bodies are at most 16 KB).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// From the first byte of a request to the first byte of its answer, on any request of a
/// connection (the head timeout above applies to the first request only).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(20);
/// Default of `max_connections_per_address`.
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: u32 = 128;
