//! Who a request comes from. Behind a load balancer the TCP peer is the balancer, so the client's
//! address and scheme come from its `X-Forwarded-For` / `Forwarded` / `X-Forwarded-Proto` headers,
//! but only when the peer is a trusted proxy (`--trusted-proxy`); anyone else's forwarding
//! headers are ignored. [`identify`] resolves [`ClientInfo`] once per request, before anything
//! else runs, and everything that needs a client address (rate limits, logs, the Engine.IO
//! handshake, cookie security) uses it.

use std::convert::Infallible;
use std::fmt;
use std::future::{ready, Ready};
use std::net::{IpAddr, SocketAddr};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use clap::ValueEnum;
use serde::{Serialize, Serializer};

use super::cidr::{canonical, TrustedProxies};

/// The standard `Forwarded` header (RFC 7239).
const FORWARDED: &str = "forwarded";
/// The de-facto standard list of client and proxy addresses, each proxy appending its peer.
const X_FORWARDED_FOR: &str = "x-forwarded-for";
/// The scheme the client used to reach the (first) proxy.
const X_FORWARDED_PROTO: &str = "x-forwarded-proto";

/// The client of a request, as far as this server can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's address: the TCP peer, or the address a trusted proxy forwarded.
    pub addr: Option<IpAddr>,
    /// True if a trusted proxy says the client used HTTPS.
    pub https: bool,
    /// The trusted proxy the request came through, if any.
    pub proxy: Option<IpAddr>,
}

/// Why a trusted proxy's forwarding headers could not be used (the peer is used instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardedError {
    /// A header is not visible ASCII.
    #[error("the {0} header is not readable text")]
    Unreadable(&'static str),
    /// A hop is not an address (`unknown`, an obfuscated name, or garbage).
    #[error("the {header} header names `{hop}`, not an address")]
    BadHop {
        /// The header.
        header: &'static str,
        /// The hop as written.
        hop: String,
    },
}

impl ClientInfo {
    /// The client of a request from `peer` carrying `headers`, believing forwarding headers only
    /// from `trusted` peers. `X-Forwarded-For` is walked from the right, skipping trusted hops;
    /// the first untrusted address is the client (all trusted: the leftmost). `Forwarded` is read
    /// the same way, but only when there is no `X-Forwarded-For` (proxies such as nginx append to
    /// `X-Forwarded-For` and pass a client's `Forwarded` through untouched). Malformed headers fall
    /// back to the peer.
    pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &TrustedProxies) -> Self {
        let direct = ClientInfo {
            addr: peer.map(canonical),
            https: false,
            proxy: None,
        };
        let Some(proxy) = direct.addr.filter(|p| trusted.contains(*p)) else {
            return direct;
        };
        let addr = match client_address(headers, trusted) {
            Ok(Some(addr)) => addr,
            Ok(None) => proxy,
            Err(error) => {
                tracing::warn!(%error, %proxy, "ignoring the forwarding headers of a trusted proxy");
                proxy
            }
        };
        ClientInfo {
            addr: Some(addr),
            https: forwarded_https(headers),
            proxy: Some(proxy),
        }
    }

    /// The client of a request that went through [`identify`] (else its TCP peer).
    pub fn of(req: &HttpRequest) -> ClientInfo {
        req.extensions()
            .get::<ClientInfo>()
            .copied()
            .unwrap_or_else(|| ClientInfo {
                addr: req.peer_addr().map(|p| canonical(p.ip())),
                https: false,
                proxy: None,
            })
    }
}

impl FromRequest for ClientInfo {
    type Error = Infallible;
    type Future = Ready<Result<ClientInfo, Infallible>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(ClientInfo::of(req)))
    }
}

impl fmt::Display for ClientInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            Some(addr) => write!(f, "{addr}")?,
            None => f.write_str("-")?,
        }
        if let Some(proxy) = self.proxy {
            write!(f, " via {proxy}")?;
        }
        Ok(())
    }
}

/// The client address named by a trusted proxy's headers; `None` without such headers.
fn client_address(
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> Result<Option<IpAddr>, ForwardedError> {
    let (header, hops) = if headers.contains_key(X_FORWARDED_FOR) {
        let hops = joined(headers, X_FORWARDED_FOR)?;
        (
            X_FORWARDED_FOR,
            hops.split(',').map(str::to_string).collect(),
        )
    } else if headers.contains_key(FORWARDED) {
        let elements = joined(headers, FORWARDED)?;
        let hops: Vec<String> = elements
            .split(',')
            .map(|element| parameter(element, "for").unwrap_or_default())
            .collect();
        (FORWARDED, hops)
    } else {
        return Ok(None);
    };
    let mut leftmost_trusted = None;
    for hop in hops.iter().rev() {
        let addr = parse_hop(hop).ok_or_else(|| ForwardedError::BadHop {
            header,
            hop: hop.trim().to_string(),
        })?;
        if !trusted.contains(addr) {
            return Ok(Some(addr));
        }
        leftmost_trusted = Some(addr);
    }
    Ok(leftmost_trusted)
}

/// Every value of a header, comma-joined in order (a list may be split over several lines).
fn joined(headers: &HeaderMap, name: &'static str) -> Result<String, ForwardedError> {
    let values: Result<Vec<&str>, _> = headers.get_all(name).map(HeaderValue::to_str).collect();
    Ok(values
        .map_err(|_| ForwardedError::Unreadable(name))?
        .join(","))
}

/// A `;`-separated `Forwarded` element's parameter, unquoted.
fn parameter(element: &str, key: &str) -> Option<String> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case(key)
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// One hop: `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]` or `[::1]:5678`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let addr = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<IpAddr>()
                .ok()
        })?;
    Some(canonical(addr))
}

/// True if the nearest proxy says the client used HTTPS: the last `X-Forwarded-Proto` value, else
/// the `proto` of the last `Forwarded` element.
fn forwarded_https(headers: &HeaderMap) -> bool {
    let proto = if headers.contains_key(X_FORWARDED_PROTO) {
        joined(headers, X_FORWARDED_PROTO)
            .ok()
            .and_then(|list| list.rsplit(',').next().map(|p| p.trim().to_string()))
    } else {
        joined(headers, FORWARDED)
            .ok()
            .and_then(|list| list.rsplit(',').next().and_then(|e| parameter(e, "proto")))
    };
    proto.is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// Whether cookies are marked `Secure` (sent by browsers over HTTPS only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum SecureCookies {
    /// When a trusted proxy says the client used HTTPS.
    #[default]
    Auto,
    /// Always (`--secure-cookies`, `=true`).
    #[value(name = "true", alias = "yes", alias = "on", alias = "1")]
    Always,
    /// Never, even behind an HTTPS proxy (`=false`).
    #[value(name = "false", alias = "no", alias = "off", alias = "0")]
    Never,
}

impl SecureCookies {
    /// True if a response to `client` marks its cookies `Secure`.
    pub fn applies_to(self, client: &ClientInfo) -> bool {
        match self {
            SecureCookies::Auto => client.https,
            SecureCookies::Always => true,
            SecureCookies::Never => false,
        }
    }
}

impl Serialize for SecureCookies {
    /// `"auto"`, `true` or `false`, as a configuration file says it.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SecureCookies::Auto => serializer.serialize_str("auto"),
            SecureCookies::Always => serializer.serialize_bool(true),
            SecureCookies::Never => serializer.serialize_bool(false),
        }
    }
}

/// What [`identify`] needs: the trusted proxies and the cookie policy.
#[derive(Debug, Clone, Default)]
pub struct ClientPolicy {
    /// Peers whose forwarding headers are believed.
    pub trusted: TrustedProxies,
    /// When cookies get `Secure`.
    pub secure_cookies: SecureCookies,
}

/// Middleware (the outermost): resolves the request's [`ClientInfo`], keeps it in the request's
/// extensions and makes it the request's peer address, so code that asks the request for its
/// peer (the Engine.IO handshake among it) sees the client, not the proxy; marks the response's
/// cookies `Secure` when [`SecureCookies`] says so.
pub async fn identify(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let policy = req
        .app_data::<actix_web::web::Data<ClientPolicy>>()
        .map(|p| p.get_ref().clone())
        .unwrap_or_default();
    let peer = req.peer_addr();
    let client = ClientInfo::resolve(peer.map(|p| p.ip()), req.headers(), &policy.trusted);
    if let Some(addr) = client.addr.filter(|_| client.proxy.is_some()) {
        // The forwarded client's port is unknown: 0. As the outermost middleware this runs before
        // anything has cloned the request, which `head_mut` needs (as actix's NormalizePath).
        req.head_mut().peer_addr = Some(SocketAddr::new(addr, 0));
    }
    let secure = policy.secure_cookies.applies_to(&client);
    req.extensions_mut().insert(client);
    let mut response = next.call(req).await?;
    if secure {
        mark_cookies_secure(response.headers_mut());
    }
    Ok(response)
}

/// Adds `Secure` to every `Set-Cookie` that lacks it.
fn mark_cookies_secure(headers: &mut HeaderMap) {
    let cookies: Vec<HeaderValue> = headers.get_all(header::SET_COOKIE).cloned().collect();
    if cookies.is_empty() {
        return;
    }
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        let text = cookie.to_str().unwrap_or_default();
        let has_secure = text
            .split(';')
            .skip(1)
            .any(|attribute| attribute.trim().eq_ignore_ascii_case("secure"));
        let marked = if has_secure || text.is_empty() {
            cookie
        } else {
            HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or(cookie)
        };
        headers.append(header::SET_COOKIE, marked);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::cidr::Cidr;

    fn trusted(ranges: &[&str]) -> TrustedProxies {
        let ranges: Vec<Cidr> = ranges.iter().map(|r| r.parse().unwrap()).collect();
        TrustedProxies::new(&ranges)
    }

    fn headers(list: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in list {
            map.append(
                header::HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    fn client(peer: &str, trust: &[&str], list: &[(&'static str, &'static str)]) -> ClientInfo {
        ClientInfo::resolve(peer.parse().ok(), &headers(list), &trusted(trust))
    }

    /// A request through the trusted proxy 10.0.0.5 (10.0.0.0/8 trusted).
    fn via_proxy(list: &[(&'static str, &'static str)]) -> ClientInfo {
        client(PROXY, &[TRUSTED], list)
    }

    const PROXY: &str = "10.0.0.5";
    const TRUSTED: &str = "10.0.0.0/8";

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn untrusted_peers_cannot_forward() {
        let forged = [
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-proto", "https"),
        ];
        let seen = client("198.51.100.2", &[], &forged);
        assert_eq!(seen.addr, ip("198.51.100.2"));
        assert!(!seen.https);
        assert_eq!(seen.proxy, None);
        let seen = client("198.51.100.2", &["10.0.0.0/8"], &forged);
        assert_eq!(seen.addr, ip("198.51.100.2"));
        // Not even loopback is trusted by default.
        assert_eq!(client("127.0.0.1", &[], &forged).addr, ip("127.0.0.1"));
    }

    #[test]
    fn walks_x_forwarded_for_from_the_right() {
        // The client forged the first entry; the proxy appended the real one.
        let seen = via_proxy(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.0.0.9")]);
        assert_eq!(seen.addr, ip("203.0.113.7"));
        assert_eq!(seen.proxy, ip(PROXY));
        // Split over two lines, with ports and brackets.
        let seen = via_proxy(&[
            ("x-forwarded-for", "[2001:db8::1]:443"),
            ("x-forwarded-for", "10.0.0.9:80"),
        ]);
        assert_eq!(seen.addr, ip("2001:db8::1"));
        // Every hop trusted: the leftmost.
        let seen = via_proxy(&[("x-forwarded-for", "10.1.1.1, 10.0.0.9")]);
        assert_eq!(seen.addr, ip("10.1.1.1"));
        // No header from a trusted proxy: the proxy itself.
        assert_eq!(via_proxy(&[]).addr, ip(PROXY));
    }

    #[test]
    fn malformed_headers_fall_back_to_the_peer() {
        for bad in ["", "unknown", "1.2.3.4, nonsense", "999.1.1.1"] {
            let list = [("x-forwarded-for", bad)];
            let seen = via_proxy(&list);
            assert_eq!(seen.addr, ip(PROXY), "{bad:?}");
        }
        // Garbage left of the first untrusted hop is never reached.
        let seen = via_proxy(&[("x-forwarded-for", "garbage, 203.0.113.7")]);
        assert_eq!(seen.addr, ip("203.0.113.7"));
        let mut map = HeaderMap::new();
        map.insert(
            header::HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_bytes(b"\xff1.2.3.4").unwrap(),
        );
        let seen = ClientInfo::resolve(ip(PROXY), &map, &trusted(&[TRUSTED]));
        assert_eq!(seen.addr, ip(PROXY));
    }

    #[test]
    fn reads_forwarded_only_without_x_forwarded_for() {
        let seen = via_proxy(&[(
            "forwarded",
            "for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\";proto=https",
        )]);
        assert_eq!(seen.addr, ip("2001:db8:cafe::17"));
        assert!(seen.https, "proto of the last element");
        let seen = via_proxy(&[
            ("forwarded", "for=192.0.2.60"),
            ("x-forwarded-for", "203.0.113.7"),
        ]);
        assert_eq!(seen.addr, ip("203.0.113.7"), "X-Forwarded-For wins");
        let seen = via_proxy(&[("forwarded", "for=unknown")]);
        assert_eq!(seen.addr, ip(PROXY));
    }

    #[test]
    fn https_only_from_a_trusted_proxy() {
        let trust = ["127.0.0.1"];
        let https = [("x-forwarded-proto", "HTTPS")];
        assert!(client("127.0.0.1", &trust, &https).https);
        assert!(!client("127.0.0.2", &trust, &https).https);
        assert!(!client("127.0.0.1", &trust, &[("x-forwarded-proto", "http")]).https);
        assert!(client("::ffff:127.0.0.1", &trust, &https).https, "mapped");
        let policy = |mode: SecureCookies, info: &ClientInfo| mode.applies_to(info);
        let plain = client("127.0.0.1", &trust, &[]);
        let secure = client("127.0.0.1", &trust, &https);
        assert!(!policy(SecureCookies::Auto, &plain));
        assert!(policy(SecureCookies::Auto, &secure));
        assert!(policy(SecureCookies::Always, &plain));
        assert!(!policy(SecureCookies::Never, &secure));
    }

    #[actix_web::test]
    async fn the_request_peer_becomes_the_forwarded_client() {
        use actix_web::{middleware::from_fn, test, web, App, HttpResponse};
        // What the Engine.IO handshake records as the session's peer: `req.peer_addr()`.
        let policy = ClientPolicy {
            trusted: trusted(&["127.0.0.1"]),
            secure_cookies: SecureCookies::Auto,
        };
        let app = test::init_service(
            App::new()
                .wrap(from_fn(identify))
                .app_data(web::Data::new(policy))
                .route(
                    "/",
                    web::get().to(|req: HttpRequest| async move {
                        HttpResponse::Ok().body(format!("{:?}", req.peer_addr()))
                    }),
                ),
        )
        .await;
        let peer = |from: &str, forwarded: &str| {
            test::TestRequest::get()
                .uri("/")
                .peer_addr(from.parse().unwrap())
                .insert_header(("x-forwarded-for", forwarded.to_string()))
                .to_request()
        };
        let seen = test::call_and_read_body(&app, peer("127.0.0.1:4000", "203.0.113.9")).await;
        assert_eq!(seen, "Some(203.0.113.9:0)");
        let seen = test::call_and_read_body(&app, peer("198.51.100.1:4000", "203.0.113.9")).await;
        assert_eq!(seen, "Some(198.51.100.1:4000)", "untrusted peer kept");
    }

    #[test]
    fn marks_cookies_secure_once() {
        let mut map = headers(&[
            ("set-cookie", "a=1; Path=/; HttpOnly"),
            ("set-cookie", "b=2; Path=/; secure"),
        ]);
        mark_cookies_secure(&mut map);
        let cookies: Vec<&str> = map
            .get_all(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            cookies,
            ["a=1; Path=/; HttpOnly; Secure", "b=2; Path=/; secure"]
        );
    }
}
