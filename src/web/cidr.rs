//! Address ranges in CIDR notation (`10.0.0.0/8`, `::1/128`, or a bare address), as used by
//! `--trusted-proxy`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// A range of addresses: a network address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a text is not a CIDR range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The part before `/` is not an IPv4 or IPv6 address.
    #[error("`{0}` is not an IP address (expected a range like 10.0.0.0/8 or fd00::/8)")]
    Address(String),
    /// The prefix length is not a number within the address's bits.
    #[error("`{0}` is not a valid prefix length (0-32 for IPv4, 0-128 for IPv6)")]
    Prefix(String),
    /// Bits are set after the prefix, like `10.0.0.1/8`: probably a typo.
    #[error("`{0}` has host bits set after the prefix (did you mean {1}?)")]
    HostBits(String, String),
}

impl Cidr {
    /// True if `addr` lies in this range. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a
    /// dual-stack socket reports) matches as the IPv4 address it carries.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.network, canonical(addr)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = mask_u32(self.prefix);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = mask_u128(self.prefix);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// `addr`, with an IPv4-mapped IPv6 address turned into its IPv4 address.
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn mask_u32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask_u128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| CidrError::Address(address.to_string()))?;
        let network = canonical(network);
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| CidrError::Prefix(p.to_string()))?,
        };
        let masked = match network {
            IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & mask_u32(prefix)).into()),
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & mask_u128(prefix)).into()),
        };
        if masked != network {
            return Err(CidrError::HostBits(
                text.to_string(),
                format!("{masked}/{prefix}"),
            ));
        }
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The proxies whose forwarding headers are believed. Empty (the default): none, so every
/// client-sent `X-Forwarded-For` is ignored.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    ranges: Vec<Cidr>,
}

impl TrustedProxies {
    /// Trusts the peers in these ranges.
    pub fn new(ranges: &[Cidr]) -> TrustedProxies {
        TrustedProxies {
            ranges: ranges.to_vec(),
        }
    }

    /// True if `addr` is one of the trusted proxies.
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.ranges.iter().any(|range| range.contains(addr))
    }

    /// True if no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_matches_ranges() {
        let net: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(!net.contains(ip("::1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")), "IPv4-mapped");
        let single: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(single.to_string(), "127.0.0.1/32");
        assert!(single.contains(ip("127.0.0.1")));
        assert!(!single.contains(ip("127.0.0.2")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("fe80::1")));
        let host6: Cidr = "::1".parse().unwrap();
        assert_eq!(host6.to_string(), "::1/128");
    }

    #[test]
    fn refuses_nonsense() {
        assert!(matches!(
            "10.0.0/8".parse::<Cidr>(),
            Err(CidrError::Address(_))
        ));
        for bad_prefix in ["10.0.0.0/33", "10.0.0.0/-1", "::/129"] {
            let parsed = bad_prefix.parse::<Cidr>();
            assert!(matches!(parsed, Err(CidrError::Prefix(_))), "{parsed:?}");
        }
        assert_eq!(
            "10.0.0.1/8".parse::<Cidr>(),
            Err(CidrError::HostBits(
                "10.0.0.1/8".to_string(),
                "10.0.0.0/8".to_string()
            ))
        );
        assert!("".parse::<Cidr>().is_err());
    }
}
