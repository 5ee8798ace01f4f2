//! The login session on the HTTP side: the current user and the session cookie's setting and
//! clearing (reading the token a request carries is [`crate::accounts::token_from_headers`]).

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::HttpRequest;

use crate::accounts::{
    token_from_headers, Accounts, SessionToken, User, SESSION_COOKIE, SESSION_LIFETIME,
};

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
