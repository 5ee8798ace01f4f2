//! Where a request carries its login session: the session cookie, else an `Authorization: Bearer`
//! header. Read here for HTTP requests (web) and for Socket.IO handshakes (apps) alike.

use actix_web::cookie::Cookie;
use actix_web::http::header::{self, HeaderMap};

use super::token::SessionToken;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "agora_session";

/// The prefix of an `Authorization` header that carries a session token.
const BEARER_PREFIX: &str = "Bearer ";

/// The token a request carries: the session cookie, else an `Authorization: Bearer` header.
pub fn token_from_headers(headers: &HeaderMap) -> Option<SessionToken> {
    cookie_value(headers, SESSION_COOKIE)
        .and_then(|value| SessionToken::from_client(&value))
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)?
                .to_str()
                .ok()?
                .strip_prefix(BEARER_PREFIX)
                .and_then(SessionToken::from_client)
        })
}

/// A cookie's value from raw request headers.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| Cookie::parse(pair.trim()).ok())
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_string())
}
