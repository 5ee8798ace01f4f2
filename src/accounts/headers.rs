//! Where a request carries its login session: the session cookie, else an `Authorization: Bearer`
//! header. Read here for HTTP requests (web) and for Socket.IO handshakes (apps) alike.

use actix_web::cookie::Cookie;
use actix_web::http::header::{self, HeaderMap};

use super::token::SessionToken;
use crate::engineio::HandshakeHeaders;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "agora_session";

/// The prefix of an `Authorization` header that carries a session token.
const BEARER_PREFIX: &str = "Bearer ";

/// The token a request carries: the session cookie, else an `Authorization: Bearer` header.
pub fn token_from_headers(headers: &HeaderMap) -> Option<SessionToken> {
    token_from(
        headers
            .get_all(header::COOKIE)
            .filter_map(|value| value.to_str().ok()),
        headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok()),
    )
}

/// The token a Socket.IO handshake carried, as [`token_from_headers`].
pub fn token_from_handshake(headers: &HandshakeHeaders) -> Option<SessionToken> {
    token_from(
        headers
            .get_all(header::COOKIE.as_str())
            .filter_map(|value| std::str::from_utf8(value).ok()),
        headers.get_str(header::AUTHORIZATION.as_str()),
    )
}

/// The session cookie among `cookies` (the `Cookie` header values), else the bearer token of
/// `authorization`.
fn token_from<'a>(
    cookies: impl Iterator<Item = &'a str>,
    authorization: Option<&str>,
) -> Option<SessionToken> {
    cookie_value(cookies, SESSION_COOKIE)
        .and_then(|value| SessionToken::from_client(&value))
        .or_else(|| {
            authorization?
                .strip_prefix(BEARER_PREFIX)
                .and_then(SessionToken::from_client)
        })
}

/// A cookie's value from the `Cookie` header values.
fn cookie_value<'a>(cookies: impl Iterator<Item = &'a str>, name: &str) -> Option<String> {
    cookies
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| Cookie::parse(pair.trim()).ok())
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_string())
}
