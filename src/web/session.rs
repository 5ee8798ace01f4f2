//! The login session on the HTTP side: the session cookie, bearer tokens, and the current user.

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::header::{self, HeaderMap};
use actix_web::HttpRequest;

use crate::accounts::{Accounts, SessionToken, User, SESSION_LIFETIME};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "agora_session";

/// The token a request carries: the session cookie, else an `Authorization: Bearer` header.
pub fn token_from_headers(headers: &HeaderMap) -> Option<SessionToken> {
    cookie_value(headers, SESSION_COOKIE)
        .and_then(|value| SessionToken::from_client(&value))
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)?
                .to_str()
                .ok()?
                .strip_prefix("Bearer ")
                .and_then(SessionToken::from_client)
        })
}

/// A cookie's value from raw request headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| Cookie::parse(pair.trim()).ok())
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_string())
}

/// The signed-in user of a request, if any.
pub async fn current_user(req: &HttpRequest, accounts: &Accounts) -> Option<User> {
    let token = token_from_headers(req.headers())?;
    match accounts.user_for_token(&token).await {
        Ok(user) => user,
        Err(error) => {
            tracing::error!(%error, "session lookup failed");
            None
        }
    }
}

/// The cookie that carries a new login session: HttpOnly, SameSite=Lax.
pub fn session_cookie(token: &SessionToken) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.as_str().to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(SESSION_LIFETIME.as_secs() as i64))
        .finish()
}

/// The cookie that clears the session cookie.
pub fn expired_session_cookie() -> Cookie<'static> {
    let mut cookie = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish();
    cookie.make_removal();
    cookie
}
