//! CSRF protection for the HTML forms: a random token in an HttpOnly, SameSite=Strict cookie that each
//! form must echo in a hidden `csrf_token` field (double submit). A cross-site page can neither read
//! the cookie nor have it sent.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;

use crate::accounts::SessionToken;

/// The CSRF cookie's name.
pub const CSRF_COOKIE: &str = "agora_csrf";

/// The request's CSRF token, and the cookie to set when the request had none.
pub fn token(req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    if let Some(cookie) = req.cookie(CSRF_COOKIE) {
        if !cookie.value().is_empty() {
            return (cookie.value().to_string(), None);
        }
    }
    let token = SessionToken::generate().as_str().to_string();
    let cookie = Cookie::build(CSRF_COOKIE, token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    (token, Some(cookie))
}

/// True if the submitted token matches the request's CSRF cookie.
pub fn verify(req: &HttpRequest, submitted: &str) -> bool {
    match req.cookie(CSRF_COOKIE) {
        Some(cookie) => !submitted.is_empty() && constant_time_eq(cookie.value(), submitted),
        None => false,
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
