//! The accounts JSON API: `POST /api/register`, `POST /api/login`, `POST /api/logout`, `GET /api/me`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::client::ClientInfo;
use super::error::ApiError;
use super::session;
use super::AppState;
use crate::accounts::{token_from_headers, AccountError, SessionToken, User};

/// Credentials, as sent by clients.
#[derive(Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

fn signed_in(
    status: actix_web::http::StatusCode,
    user: &User,
    token: &SessionToken,
) -> HttpResponse {
    HttpResponse::build(status)
        .cookie(session::session_cookie(token))
        .json(json!({ "user": { "name": user.name.as_str() }, "token": token.as_str() }))
}

/// `POST /api/register`: 201 with the user and a session token (also set as the session cookie);
/// 409 `name_taken` before any hashing; 429 `rate_limited` with `Retry-After` past the address's
/// registrations or when password hashing is busy.
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let peer = ClientInfo::of(&req).addr;
    let (user, token) = state
        .apps
        .accounts
        .register(&body.username, &body.password, peer)
        .await?;
    Ok(signed_in(
        actix_web::http::StatusCode::CREATED,
        &user,
        &token,
    ))
}

/// `POST /api/login`: 200 with the user and a session token; failures are rate-limited.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let peer = ClientInfo::of(&req).addr;
    let (user, token) = state
        .apps
        .accounts
        .login(&body.username, &body.password, peer)
        .await?;
    Ok(signed_in(actix_web::http::StatusCode::OK, &user, &token))
}

/// `POST /api/logout`: ends the session the request carries, disconnects its sockets on every
/// node, and clears the cookie.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if let Some(token) = token_from_headers(req.headers()) {
        end_session(&state, &token).await?;
    }
    Ok(HttpResponse::Ok()
        .cookie(session::expired_session_cookie())
        .json(json!({ "ok": true })))
}

/// `GET /api/me`: the signed-in user, or 401.
pub async fn me(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let user = session::current_user(&req, &state.apps.accounts)
        .await
        .ok_or(ApiError::Unauthenticated)?;
    Ok(HttpResponse::Ok().json(json!({ "user": { "name": user.name.as_str() } })))
}

/// Ends a login session: deletes it, then disconnects every socket signed in with it, on every
/// node (closing their connections, so they are neither usable nor recoverable), and forgets
/// kept sockets of the session that were waiting for recovery.
pub async fn end_session(state: &AppState, token: &SessionToken) -> Result<(), AccountError> {
    state.apps.accounts.logout(token).await?;
    state.io.to(token.room()).disconnect_sockets(true);
    Ok(())
}
