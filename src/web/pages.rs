//! HTML pages: home, and the login/registration forms (CSRF-protected) that share the API's accounts.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;

use super::client::ClientInfo;
use super::session;
use super::templates::Templates;
use super::{csrf, AppState};
use crate::accounts::{token_from_headers, AccountError, User};

/// A login or registration form.
#[derive(Deserialize)]
pub struct CredentialsForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
}

/// A form with only a CSRF token (logout).
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf_token: String,
}

/// Renders `template` with the shared context plus `extra`, setting the CSRF cookie if needed.
pub async fn page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    template: &str,
    title: &str,
    extra: impl FnOnce(&mut tera::Context, Option<&User>),
) -> HttpResponse {
    let user = session::current_user(req, &state.apps.accounts).await;
    let (token, cookie) = csrf::token(req);
    let mut context = Templates::context(title, user.as_ref(), &token);
    // The bundled client speaks the server's packet format (`<meta name="agora-parser">`).
    context.insert("parser", state.io.parser().as_str());
    extra(&mut context, user.as_ref());
    let mut response = state.templates.render(status, template, &context);
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

/// The pages that need nothing but the shared context: path, template, title.
pub const PLAIN_PAGES: [(&str, &str, &str); 7] = [
    ("/", "home.html.tera", "Agora"),
    ("/chat", "chat.html.tera", "Chat"),
    ("/board", "board.html.tera", "Board"),
    ("/feed", "feed.html.tera", "Feed"),
    ("/trades", "trades.html.tera", "Trades"),
    ("/login", "login.html.tera", "Log in"),
    ("/register", "register.html.tera", "Register"),
];

/// A `GET` handler rendering one of [`PLAIN_PAGES`].
pub fn plain(
    template: &'static str,
    title: &'static str,
) -> impl Fn(HttpRequest, web::Data<AppState>) -> LocalBoxFuture<'static, HttpResponse> + Clone {
    move |req, state| {
        Box::pin(
            async move { page(&req, &state, StatusCode::OK, template, title, |_, _| {}).await },
        )
    }
}

/// What a posted [`CredentialsForm`] asks for: `POST /login` or `POST /register`.
#[derive(Clone, Copy)]
pub enum CredentialsAction {
    /// Sign in to an existing account.
    LogIn,
    /// Create the account and sign in.
    Register,
}

/// The `POST` handler of a credentials form: redirects home signed in, or shows the form again
/// with the error.
pub fn credentials(
    action: CredentialsAction,
) -> impl Fn(
    HttpRequest,
    web::Data<AppState>,
    web::Form<CredentialsForm>,
) -> LocalBoxFuture<'static, HttpResponse>
       + Clone {
    move |req, state, form| {
        Box::pin(async move { submit_credentials(&req, &state, &form, action).await })
    }
}

/// Checks the form's CSRF token, then logs in or registers: a redirect home with the session
/// cookie, or the same form again with the error.
async fn submit_credentials(
    req: &HttpRequest,
    state: &AppState,
    form: &CredentialsForm,
    action: CredentialsAction,
) -> HttpResponse {
    if !csrf::verify(req, &form.csrf_token) {
        return csrf_refused(req, state).await;
    }
    let accounts = &state.apps.accounts;
    let (username, password) = (&form.username, &form.password);
    let (result, template, title) = match action {
        CredentialsAction::LogIn => {
            let peer = ClientInfo::of(req).addr;
            let result = accounts.login(username, password, peer).await;
            (result, "login.html.tera", "Log in")
        }
        CredentialsAction::Register => {
            let peer = ClientInfo::of(req).addr;
            let result = accounts.register(username, password, peer).await;
            (result, "register.html.tera", "Register")
        }
    };
    finish_form(req, state, result, template, title, form).await
}

/// `POST /logout`: ends the session and redirects home.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<TokenForm>,
) -> HttpResponse {
    if !csrf::verify(&req, &form.csrf_token) {
        return csrf_refused(&req, &state).await;
    }
    if let Some(token) = token_from_headers(req.headers()) {
        if let Err(error) = super::api_accounts::end_session(&state, &token).await {
            tracing::error!(%error, "logout failed");
        }
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .cookie(session::expired_session_cookie())
        .finish()
}

async fn finish_form(
    req: &HttpRequest,
    state: &AppState,
    result: Result<(User, crate::accounts::SessionToken), AccountError>,
    template: &str,
    title: &str,
    form: &CredentialsForm,
) -> HttpResponse {
    match result {
        Ok((_, token)) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/"))
            .cookie(session::session_cookie(&token))
            .finish(),
        Err(error) => {
            let status = super::error::ApiError::from(error);
            let message = status.to_string();
            let code = actix_web::ResponseError::status_code(&status);
            page(req, state, code, template, title, |context, _| {
                context.insert("error", &message);
                context.insert("form", &serde_json::json!({ "username": form.username }));
            })
            .await
        }
    }
}

async fn csrf_refused(req: &HttpRequest, state: &AppState) -> HttpResponse {
    tracing::warn!(path = req.path(), "form without a valid CSRF token refused");
    error_page(
        req,
        state,
        StatusCode::FORBIDDEN,
        "The form expired or came from another site. Reload the page and try again.",
    )
    .await
}

/// A generic error page.
pub async fn error_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    message: &str,
) -> HttpResponse {
    page(
        req,
        state,
        status,
        "error.html.tera",
        "Error",
        |context, _| {
            context.insert("status", &status.as_u16());
            context.insert("message", message);
        },
    )
    .await
}

/// Any route that does not exist.
pub async fn not_found(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if req.path().starts_with("/api/") {
        return actix_web::ResponseError::error_response(&super::error::ApiError::NotFound(
            "no such endpoint",
        ));
    }
    error_page(
        &req,
        &state,
        StatusCode::NOT_FOUND,
        "There is no such page.",
    )
    .await
}
