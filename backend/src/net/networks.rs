//! IP networks (`10.0.0.0/8`, `2001:db8::/32`, or a single address) and the list of trusted
//! proxies (`trusted_proxies`) whose PROXY protocol headers are believed.

use std::{fmt, net::IpAddr, str::FromStr};

/// An IP network: an address whose host bits are zero and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

/// Why a network could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    #[error("{0:?} is not an IP address or network (e.g. 10.0.0.1, 10.0.0.0/8, 2001:db8::/32)")]
    Syntax(String),
    #[error("{0:?}: the prefix length is larger than the address")]
    Prefix(String),
    #[error("{0:?} has host bits set: did you mean {1}?")]
    HostBits(String, IpNetwork),
}

impl IpNetwork {
    /// Whether `ip` is in this network. An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) counts as
    /// its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(ip)), self.prefix, 32) == u128::from(u32::from(net))
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => masked(u128::from(ip), self.prefix, 128) == u128::from(net),
            _ => false,
        }
    }
}

/// `bits` (an address of `width` bits) with all but the first `prefix` bits cleared.
fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
    let host_bits = u32::from(width - prefix.min(width));
    bits.checked_shr(host_bits).and_then(|b| b.checked_shl(host_bits)).unwrap_or(0)
}

impl FromStr for IpNetwork {
    type Err = NetworkError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let syntax = || NetworkError::Syntax(s.to_owned());
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| syntax())?;
        let addr = addr.to_canonical();
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) => p.parse::<u8>().map_err(|_| syntax())?,
        };
        if prefix > width {
            return Err(NetworkError::Prefix(s.to_owned()));
        }
        let network = match addr {
            IpAddr::V4(a) => {
                let bits = u32::try_from(masked(u128::from(u32::from(a)), prefix, 32)).unwrap_or(0);
                IpAddr::V4(bits.into())
            }
            IpAddr::V6(a) => IpAddr::V6(masked(u128::from(a), prefix, 128).into()),
        };
        let net = IpNetwork { addr: network, prefix };
        if network != addr {
            return Err(NetworkError::HostBits(s.to_owned(), net));
        }
        Ok(net)
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A list of networks: the peers allowed (and required) to open their connections with a PROXY
/// protocol header (`trusted_proxies`), the networks bank staff work from (`staff_networks`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks(Vec<IpNetwork>);

impl Networks {
    pub fn new(networks: Vec<IpNetwork>) -> Self {
        Self(networks)
    }

    /// Parses a comma-separated list (may be empty).
    pub fn parse_list(s: &str) -> Result<Self, NetworkError> {
        s.split(',').filter(|p| !p.trim().is_empty()).map(str::parse).collect::<Result<_, _>>().map(Self)
    }

    /// Whether `ip` is in one of the networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn networks(&self) -> &[IpNetwork] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn net(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    #[test]
    fn a_single_address_matches_only_itself() {
        let n = net("127.0.0.1");
        assert_eq!(n.to_string(), "127.0.0.1/32");
        assert!(n.contains(ip("127.0.0.1")));
        assert!(!n.contains(ip("127.0.0.2")));
    }

    #[test]
    fn ipv4_networks_match_their_range() {
        let n = net("10.1.0.0/16");
        assert!(n.contains(ip("10.1.0.0")) && n.contains(ip("10.1.255.255")));
        assert!(!n.contains(ip("10.2.0.0")) && !n.contains(ip("10.0.255.255")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(net("192.0.2.128/25").contains(ip("192.0.2.200")));
        assert!(!net("192.0.2.128/25").contains(ip("192.0.2.127")));
    }

    #[test]
    fn ipv6_networks_match_their_range() {
        let n = net("2001:db8::/32");
        assert!(n.contains(ip("2001:db8:ffff::1")));
        assert!(!n.contains(ip("2001:db9::1")));
        assert!(net("::1").contains(ip("::1")));
        assert!(net("::/0").contains(ip("fe80::1")));
    }

    #[test]
    fn families_do_not_mix_except_ipv4_mapped_peers() {
        assert!(!net("::/0").contains(ip("10.0.0.1")));
        assert!(!net("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(net("10.0.0.0/8").contains(ip("::ffff:10.9.8.7")));
        assert_eq!(net("::ffff:10.0.0.1"), net("10.0.0.1"));
    }

    #[test]
    fn bad_networks_are_refused() {
        assert!(matches!("10.0.0.1/33".parse::<IpNetwork>(), Err(NetworkError::Prefix(_))));
        assert!(matches!("2001:db8::/129".parse::<IpNetwork>(), Err(NetworkError::Prefix(_))));
        assert!(
            matches!("10.0.0.1/8".parse::<IpNetwork>(), Err(NetworkError::HostBits(_, n)) if n == net("10.0.0.0/8"))
        );
        for bad in ["", "localhost", "10.0.0/8", "10.0.0.0/x", "10.0.0.0/-1", "10.0.0.0/8/8"] {
            assert!(matches!(bad.parse::<IpNetwork>(), Err(NetworkError::Syntax(_))), "{bad}");
        }
    }

    #[test]
    fn lists_are_comma_separated() {
        let t = Networks::parse_list(" 127.0.0.1, 10.0.0.0/8 ,2001:db8::/32").unwrap();
        assert_eq!(t.networks().len(), 3);
        assert!(t.contains(ip("127.0.0.1")) && t.contains(ip("10.200.0.1")) && t.contains(ip("2001:db8::9")));
        assert!(!t.contains(ip("127.0.0.2")));
        assert!(Networks::parse_list("").unwrap().is_empty());
        assert!(Networks::parse_list("127.0.0.1,nope").is_err());
    }
}
