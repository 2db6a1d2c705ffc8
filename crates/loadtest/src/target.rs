//! The loopback rule: a [`Target`] can only be built from an `http://` URL whose host is a
//! loopback IP literal or `localhost`, and it only ever resolves to loopback addresses.
//!
//! `localhost` is never looked up in DNS or `/etc/hosts`: it maps to `127.0.0.1` and `::1`
//! (RFC 6761), so a misconfigured resolver cannot send load elsewhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hyper::Uri;
use hyper::header::HeaderValue;

use crate::Error;

/// A validated request target on this machine.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL as given, for reports.
    pub url: String,
    /// Origin-form request target (`/orders?x=1`), what HTTP/1.1 puts on the request line.
    pub path_and_query: Uri,
    /// Value of the `Host` header (`127.0.0.1:8080`).
    pub host_header: HeaderValue,
    /// Loopback socket addresses to try, in order.
    pub addrs: Vec<SocketAddr>,
}

impl Target {
    /// Parses `url` and enforces the loopback rule.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let invalid = |why: &str| Error::InvalidArgument(format!("URL {url:?}: {why}"));
        let uri: Uri = url.parse().map_err(|_| invalid("not a valid URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(invalid("https is not supported; loopback targets use http"));
            }
            _ => return Err(invalid("expected an absolute http:// URL")),
        }
        let authority = uri.authority().ok_or_else(|| invalid("missing host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid("user info in the URL is not supported"));
        }
        let port = authority.port_u16().unwrap_or(80);
        let ips = loopback_ips(authority.host()).ok_or_else(|| Error::NotLoopback {
            url: url.to_owned(),
        })?;
        let path_and_query = uri
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .parse::<Uri>()
            .map_err(|_| invalid("bad path"))?;
        let host_header =
            HeaderValue::from_str(authority.as_str()).map_err(|_| invalid("bad host"))?;
        Ok(Self {
            url: url.to_owned(),
            path_and_query,
            host_header,
            addrs: ips
                .into_iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect(),
        })
    }
}

/// The loopback addresses a URL host stands for, or `None` if it is not loopback.
///
/// `host` is as `http::uri::Authority::host` returns it: IPv6 literals keep their brackets.
pub fn loopback_ips(host: &str) -> Option<Vec<IpAddr>> {
    if host.eq_ignore_ascii_case("localhost") {
        return Some(vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]);
    }
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip: IpAddr = literal.parse().ok()?;
    let ip = match ip {
        // `::ffff:127.0.0.1` is loopback too, but say so in the form the OS connects to.
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    ip.is_loopback().then(|| vec![ip])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_accepted() {
        for url in [
            "http://127.0.0.1:8080/orders",
            "http://127.42.0.9/",
            "http://[::1]:9000/x?y=1",
            "http://localhost:8080/orders",
            "http://LocalHost/",
            "http://[::ffff:127.0.0.1]:81/",
        ] {
            assert!(Target::parse(url).is_ok(), "{url} should be accepted");
        }
    }

    #[test]
    fn any_other_host_is_refused() {
        for url in [
            "http://10.0.0.1:8080/orders",
            "http://0.0.0.0:8080/",
            "http://example.com/",
            "http://localhost.example.com/",
            "http://127.0.0.1.nip.io/",
            "http://[::]:80/",
            "http://192.168.1.1/",
        ] {
            assert!(
                matches!(Target::parse(url), Err(Error::NotLoopback { .. })),
                "{url} should be refused as not loopback"
            );
        }
    }

    #[test]
    fn non_http_or_relative_urls_are_invalid() {
        for url in [
            "https://127.0.0.1/",
            "/orders",
            "127.0.0.1:8080",
            "ftp://127.0.0.1/",
        ] {
            assert!(
                matches!(Target::parse(url), Err(Error::InvalidArgument(_))),
                "{url} should be invalid"
            );
        }
    }

    #[test]
    fn the_request_line_uses_origin_form_and_the_host_header_keeps_the_port() {
        let target = Target::parse("http://127.0.0.1:8080/orders?status=pending").expect("valid");
        assert_eq!(target.path_and_query, "/orders?status=pending");
        assert_eq!(target.host_header, "127.0.0.1:8080");
        assert_eq!(target.addrs, vec!["127.0.0.1:8080".parse().expect("addr")]);

        let bare = Target::parse("http://localhost").expect("valid");
        assert_eq!(bare.path_and_query, "/");
        assert_eq!(bare.addrs.len(), 2);
        assert!(
            bare.addrs
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 80)
        );
    }
}
