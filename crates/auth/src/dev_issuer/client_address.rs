//! Which address a login came from, for the per-address limit, when the dev issuer sits
//! behind reverse proxies.
//!
//! Guarantees:
//! - `X-Forwarded-For` is believed only from a trusted proxy ([`TrustedProxies`], empty by
//!   default): from anyone else the peer's own address is the client's, whatever the header
//!   says, so a client cannot pick the address its failures count against;
//! - from a trusted proxy, the client is the right-most address of the header that is not
//!   itself a trusted proxy (the nearest hop no trusted proxy vouches for). Addresses to its
//!   left were written by the client or an untrusted hop and are never used;
//! - every `X-Forwarded-For` header counts, in order, as one list (RFC 7230 §3.2.2); an
//!   entry that is not an IP address (`unknown`, garbage) ends the walk: the hop that wrote
//!   it, the last trusted one, is taken as the client;
//! - addresses with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`) and IPv4-mapped IPv6
//!   addresses are read as their IP.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed: addresses and CIDR ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
}

/// A trusted-proxy entry that is neither an IP address nor a CIDR range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is neither an IP address nor a CIDR range (e.g. 10.0.0.0/8)")]
pub struct TrustedProxyError {
    entry: String,
}

impl TrustedProxies {
    /// Trusts these entries: `10.0.0.7`, `10.0.0.0/8`, `::1`, `fd00::/8`.
    pub fn parse<I, S>(entries: I) -> Result<Self, TrustedProxyError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let networks = entries
            .into_iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                IpNet::from_str(entry)
                    .or_else(|_| IpAddr::from_str(entry).map(IpNet::from))
                    .map_err(|_| TrustedProxyError {
                        entry: entry.to_owned(),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies { networks })
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.networks
            .iter()
            .any(|network| network.contains(&address))
    }

    /// The client's address for a request from `peer` with these headers.
    pub fn client_address(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let mut client = canonical(peer?);
        if !self.trusts(client) {
            return Some(client);
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
            .collect();
        for hop in hops.into_iter().rev() {
            let Some(address) = parse_hop(hop) else {
                break;
            };
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        Some(client)
    }
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(address) = IpAddr::from_str(hop) {
        return Some(canonical(address));
    }
    std::net::SocketAddr::from_str(hop)
        .ok()
        .map(|socket| canonical(socket.ip()))
}

/// `::ffff:192.0.2.1` is `192.0.2.1`.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        let spoofed = headers(&["203.0.113.9"]);
        assert_eq!(
            none.client_address(ip("10.0.0.7"), &spoofed),
            ip("10.0.0.7")
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let proxies = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
        let spoofed = headers(&["203.0.113.9"]);
        assert_eq!(
            proxies.client_address(ip("198.51.100.4"), &spoofed),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse(["10.0.0.0/8", "::1"]).unwrap();
        // The client wrote a fake first entry; the edge proxy appended the real one.
        let forwarded = headers(&["1.2.3.4, 198.51.100.4", "10.0.0.3"]);
        assert_eq!(
            proxies.client_address(ip("10.0.0.7"), &forwarded),
            ip("198.51.100.4")
        );
        assert_eq!(
            proxies.client_address(ip("::1"), &headers(&["[2001:db8::5]:4711"])),
            ip("2001:db8::5")
        );
        assert_eq!(
            proxies.client_address(ip("::ffff:10.0.0.7"), &headers(&["192.0.2.1:80"])),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn a_header_of_trusted_hops_only_or_none_names_the_last_trusted_hop() {
        let proxies = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
        assert_eq!(
            proxies.client_address(ip("10.0.0.7"), &headers(&["10.0.0.1, 10.0.0.2"])),
            ip("10.0.0.1")
        );
        assert_eq!(
            proxies.client_address(ip("10.0.0.7"), &HeaderMap::new()),
            ip("10.0.0.7")
        );
    }

    #[test]
    fn an_unreadable_entry_ends_the_walk_at_the_hop_that_wrote_it() {
        let proxies = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
        let forwarded = headers(&["198.51.100.4, unknown, 10.0.0.2"]);
        assert_eq!(
            proxies.client_address(ip("10.0.0.7"), &forwarded),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn entries_that_are_not_addresses_are_refused() {
        assert!(TrustedProxies::parse(["10.0.0.0/8", "fd00::/8", "127.0.0.1"]).is_ok());
        let error = TrustedProxies::parse(["proxy.internal"]).unwrap_err();
        assert!(error.to_string().contains("proxy.internal"));
    }
}
