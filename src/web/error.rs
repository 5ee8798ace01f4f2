//! [`ApiError`]: every HTTP error the JSON API returns, as `{"error":{"code","message"}}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::accounts::AccountError;
use crate::apps::error::AppError;

/// An error answer of the HTTP API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("sign in first")]
    Unauthenticated,
    #[error("wrong user name or password")]
    WrongCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("that name is taken")]
    NameTaken,
    #[error("too many requests; slow down")]
    RateLimited,
    #[error("internal error")]
    Internal,
    /// An app's own refusal (trades), with its code and HTTP status.
    #[error("{0}")]
    App(Box<AppError>),
}

impl ApiError {
    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::WrongCredentials => "wrong_credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::NameTaken => "name_taken",
            ApiError::RateLimited => "rate_limited",
            ApiError::Internal => "internal",
            ApiError::App(error) => error.code(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::WrongCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::NameTaken => StatusCode::CONFLICT,
            ApiError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::App(error) => match error.code() {
                "unknown_user" | "not_found" => StatusCode::NOT_FOUND,
                "forbidden" => StatusCode::FORBIDDEN,
                "not_active" | "not_owner" | "not_theirs" => StatusCode::CONFLICT,
                "internal" => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({ "error": { "code": self.code(), "message": self.to_string() } });
        if let ApiError::App(error) = self {
            if let Some(trade) = error.to_json().get("trade") {
                body["trade"] = trade.clone();
            }
        }
        HttpResponse::build(self.status_code()).json(body)
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::InvalidName(m) | AccountError::InvalidPassword(m) => {
                ApiError::BadRequest(m.to_string())
            }
            AccountError::NameTaken => ApiError::NameTaken,
            AccountError::WrongCredentials => ApiError::WrongCredentials,
            AccountError::RateLimited(_) => ApiError::RateLimited,
            AccountError::Store(e) => {
                tracing::error!(error = %e, "storage failed");
                ApiError::Internal
            }
            AccountError::Hashing => ApiError::Internal,
        }
    }
}

/// Turns actix's JSON/form extraction failures into `bad_request` answers.
pub fn json_config() -> actix_web::web::JsonConfig {
    actix_web::web::JsonConfig::default()
        .limit(64 * 1024)
        .error_handler(|error, _| ApiError::BadRequest(error.to_string()).into())
}

/// Same as [`json_config`], for HTML forms.
pub fn form_config() -> actix_web::web::FormConfig {
    actix_web::web::FormConfig::default()
        .limit(64 * 1024)
        .error_handler(|error, _| ApiError::BadRequest(error.to_string()).into())
}
