//! The PROXY protocol header (HAProxy's `send-proxy-v2`) that a trusted load balancer puts before
//! the TLS bytes of every connection, telling us the client's address. Only version 2 (binary) is
//! accepted; version 1 (text) is recognised so that it can be refused.
//!
//! Parsing is split the way the header is read off the socket without over-reading: the 16 fixed
//! bytes ([`parse_fixed`]) say how many address bytes follow ([`Fixed::len`]), which
//! [`parse_addresses`] decodes. The TLS record after them stays in the socket.
//! Specification: <https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt>.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The 12 bytes that open a version 2 header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The bytes that open a version 1 (text) header.
pub const V1_SIGNATURE: &[u8] = b"PROXY ";
/// Length of the fixed part of a version 2 header: signature, version/command, family, length.
pub const V2_FIXED_LEN: usize = 16;

/// What the header says about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// The proxy speaks for itself (health checks): the TCP peer is the client.
    Local,
    /// The proxy relays a client at `source`.
    Proxy { source: SocketAddr },
    /// A relayed connection whose addresses are not IP (UNSPEC or UNIX family): the receiver
    /// uses the TCP peer, as the specification says.
    Unknown,
}

/// A malformed version 2 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("not a PROXY protocol v2 signature")]
    BadSignature,
    #[error("unsupported PROXY protocol version {0}")]
    Version(u8),
    #[error("unknown PROXY protocol command {0}")]
    Command(u8),
    #[error("truncated PROXY protocol header: {needed} bytes needed, {got} present")]
    Truncated { needed: usize, got: usize },
}

/// The command of a version 2 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Local,
    Proxy,
}

/// The fixed 16 bytes of a version 2 header, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixed {
    pub command: Command,
    /// Address family (high nibble) and transport (low nibble).
    pub family: u8,
    /// Number of bytes that follow: addresses, then TLVs (ignored).
    pub len: u16,
}

/// Whether the first bytes of a connection are a PROXY header (either version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Proxy,
    NotProxy,
    /// Too few bytes to tell: they are the beginning of a signature.
    Undecided,
}

/// Classifies the first bytes received on a connection.
pub fn classify_prefix(bytes: &[u8]) -> Prefix {
    if bytes.is_empty() {
        return Prefix::Undecided;
    }
    // The two signatures differ in their first byte, so at most one can match.
    for signature in [&V2_SIGNATURE[..], V1_SIGNATURE] {
        let n = bytes.len().min(signature.len());
        if bytes[..n] == signature[..n] {
            return if n == signature.len() { Prefix::Proxy } else { Prefix::Undecided };
        }
    }
    Prefix::NotProxy
}

/// Decodes the fixed part of a version 2 header.
pub fn parse_fixed(fixed: &[u8; V2_FIXED_LEN]) -> Result<Fixed, HeaderError> {
    if fixed[..12] != V2_SIGNATURE {
        return Err(HeaderError::BadSignature);
    }
    let version = fixed[12] >> 4;
    if version != 2 {
        return Err(HeaderError::Version(version));
    }
    let command = match fixed[12] & 0x0f {
        0 => Command::Local,
        1 => Command::Proxy,
        other => return Err(HeaderError::Command(other)),
    };
    Ok(Fixed { command, family: fixed[13], len: u16::from_be_bytes([fixed[14], fixed[15]]) })
}

/// Decodes the `fixed.len` bytes after the fixed part (`block`).
pub fn parse_addresses(fixed: &Fixed, block: &[u8]) -> Result<Header, HeaderError> {
    if block.len() < usize::from(fixed.len) {
        return Err(HeaderError::Truncated { needed: usize::from(fixed.len), got: block.len() });
    }
    if fixed.command == Command::Local {
        return Ok(Header::Local);
    }
    let source = match fixed.family >> 4 {
        // AF_INET: source, destination (4 bytes each), source port, destination port.
        1 => {
            let b = need(block, 12)?;
            let ip = Ipv4Addr::new(b[0], b[1], b[2], b[3]);
            SocketAddr::new(IpAddr::V4(ip), u16::from_be_bytes([b[8], b[9]]))
        }
        // AF_INET6: the same with 16-byte addresses.
        2 => {
            let b = need(block, 36)?;
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&b[..16]);
            SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), u16::from_be_bytes([b[32], b[33]]))
        }
        _ => return Ok(Header::Unknown),
    };
    Ok(Header::Proxy { source })
}

/// The first `n` bytes of `block`, or `Truncated` when the header's length is too short for its family.
fn need(block: &[u8], n: usize) -> Result<&[u8], HeaderError> {
    block.get(..n).ok_or(HeaderError::Truncated { needed: n, got: block.len() })
}

/// Parses a whole version 2 header at the start of `bytes`; returns it and its length.
pub fn parse(bytes: &[u8]) -> Result<(Header, usize), HeaderError> {
    let fixed: &[u8; V2_FIXED_LEN] = bytes
        .get(..V2_FIXED_LEN)
        .and_then(|b| b.try_into().ok())
        .ok_or(HeaderError::Truncated { needed: V2_FIXED_LEN, got: bytes.len() })?;
    let fixed = parse_fixed(fixed)?;
    let end = V2_FIXED_LEN + usize::from(fixed.len);
    let block = bytes.get(V2_FIXED_LEN..end).ok_or(HeaderError::Truncated { needed: end, got: bytes.len() })?;
    Ok((parse_addresses(&fixed, block)?, end))
}

/// Encodes a version 2 header relaying `source` to `destination` (both of one family), or a
/// LOCAL header when `source` is `None`. Used by tests and documentation; the server only reads.
pub fn encode(source: Option<SocketAddr>, destination: SocketAddr) -> Vec<u8> {
    let mut out = V2_SIGNATURE.to_vec();
    let Some(source) = source else {
        out.extend_from_slice(&[0x20, 0x00, 0, 0]);
        return out;
    };
    let mut block = Vec::new();
    let family = match (source.ip(), destination.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            block.extend_from_slice(&s.octets());
            block.extend_from_slice(&d.octets());
            0x11
        }
        (s, d) => {
            block.extend_from_slice(&to_v6(s).octets());
            block.extend_from_slice(&to_v6(d).octets());
            0x21
        }
    };
    block.extend_from_slice(&source.port().to_be_bytes());
    block.extend_from_slice(&destination.port().to_be_bytes());
    out.extend_from_slice(&[0x21, family]);
    out.extend_from_slice(&u16::try_from(block.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(&block);
    out
}

fn to_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v2_ipv4_gives_the_source() {
        let bytes = encode(Some(addr("192.0.2.7:50123")), addr("10.0.0.1:8443"));
        assert_eq!(bytes.len(), 16 + 12);
        assert_eq!(parse(&bytes), Ok((Header::Proxy { source: addr("192.0.2.7:50123") }, 28)));
    }

    #[test]
    fn v2_ipv6_gives_the_source() {
        let bytes = encode(Some(addr("[2001:db8::5]:4000")), addr("[2001:db8::1]:443"));
        assert_eq!(bytes.len(), 16 + 36);
        assert_eq!(parse(&bytes), Ok((Header::Proxy { source: addr("[2001:db8::5]:4000") }, 52)));
    }

    #[test]
    fn v2_local_is_the_proxy_itself() {
        let bytes = encode(None, addr("127.0.0.1:1"));
        assert_eq!(parse(&bytes), Ok((Header::Local, 16)));
    }

    #[test]
    fn local_with_an_address_block_skips_it() {
        let mut bytes = encode(Some(addr("192.0.2.7:1")), addr("10.0.0.1:2"));
        bytes[12] = 0x20;
        assert_eq!(parse(&bytes), Ok((Header::Local, 28)));
    }

    #[test]
    fn tlvs_after_the_addresses_are_counted_and_ignored() {
        let mut bytes = encode(Some(addr("192.0.2.7:1")), addr("10.0.0.1:2"));
        bytes[15] += 4;
        bytes.extend_from_slice(&[0x04, 0x00, 0x01, 0x00, 0xde, 0xad]); // NOOP TLV, then TLS bytes
        assert_eq!(parse(&bytes), Ok((Header::Proxy { source: addr("192.0.2.7:1") }, 32)));
    }

    #[test]
    fn unix_and_unspec_families_fall_back_to_the_peer() {
        let mut bytes = V2_SIGNATURE.to_vec();
        bytes.extend_from_slice(&[0x21, 0x00, 0, 0]);
        assert_eq!(parse(&bytes), Ok((Header::Unknown, 16)));
        let mut bytes = V2_SIGNATURE.to_vec();
        bytes.extend_from_slice(&[0x21, 0x31, 0, 216]);
        bytes.resize(16 + 216, 0);
        assert_eq!(parse(&bytes), Ok((Header::Unknown, 232)));
    }

    #[test]
    fn truncated_headers_are_refused() {
        let bytes = encode(Some(addr("192.0.2.7:1")), addr("10.0.0.1:2"));
        assert_eq!(parse(&bytes[..10]), Err(HeaderError::Truncated { needed: 16, got: 10 }));
        assert_eq!(parse(&bytes[..20]), Err(HeaderError::Truncated { needed: 28, got: 20 }));
        // A length too short for the announced family.
        let mut short = bytes[..16].to_vec();
        short[15] = 4;
        short.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(parse(&short), Err(HeaderError::Truncated { needed: 12, got: 4 }));
    }

    #[test]
    fn bad_signature_version_and_command_are_refused() {
        let good = encode(Some(addr("192.0.2.7:1")), addr("10.0.0.1:2"));
        let mut b = good.clone();
        b[0] = b'X';
        assert_eq!(parse(&b), Err(HeaderError::BadSignature));
        let mut b = good.clone();
        b[12] = 0x11;
        assert_eq!(parse(&b), Err(HeaderError::Version(1)));
        let mut b = good;
        b[12] = 0x2f;
        assert_eq!(parse(&b), Err(HeaderError::Command(15)));
        assert_eq!(parse(b"PROXY TCP4 192.0.2.7 10.0.0.1 1 2\r\n"), Err(HeaderError::BadSignature));
    }

    #[test]
    fn prefixes_are_classified() {
        assert_eq!(classify_prefix(&[0x16, 0x03, 0x01]), Prefix::NotProxy);
        assert_eq!(classify_prefix(b"GET / HTTP/1.1"), Prefix::NotProxy);
        assert_eq!(classify_prefix(b"PROXY TCP4 "), Prefix::Proxy);
        assert_eq!(classify_prefix(&V2_SIGNATURE), Prefix::Proxy);
        assert_eq!(classify_prefix(b"PRO"), Prefix::Undecided);
        assert_eq!(classify_prefix(b"\r\n\r\n"), Prefix::Undecided);
        assert_eq!(classify_prefix(b""), Prefix::Undecided);
        assert_eq!(classify_prefix(b"\r\n\r\nX"), Prefix::NotProxy);
    }
}
