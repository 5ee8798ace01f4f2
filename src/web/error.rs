//! [`ApiError`]: every HTTP error the JSON API returns, as `{"error":{"code","message"}}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::accounts::AccountError;
use crate::apps::error::{AppError, ErrorKind};
use crate::store::StoreError;

/// An error answer of the HTTP API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (the message says why).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid session.
    #[error("sign in first")]
    Unauthenticated,
    /// 401: no API key shown (`Authorization: Bearer KEY`).
    #[error("an API key is required: Authorization: Bearer KEY")]
    NoApiKey,
    /// 401: a failed login.
    #[error("wrong user name or password")]
    WrongCredentials,
    /// 403: not allowed (the message says why).
    #[error("{0}")]
    Forbidden(&'static str),
    /// 404: nothing there (the message says what).
    #[error("{0}")]
    NotFound(&'static str),
    /// 413: the body is larger than the limit (in bytes).
    #[error("the body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 409: the user name is taken.
    #[error("that name is taken")]
    NameTaken,
    /// 429: over a rate limit.
    #[error("too many requests; slow down")]
    RateLimited,
    /// Too many requests, with how long to wait (sent as `Retry-After`).
    #[error("too many requests; try again in {} s", retry_after_secs(*.0))]
    RetryAfter(std::time::Duration),
    /// 500: something failed on the server (logged).
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
            ApiError::Unauthenticated | ApiError::NoApiKey => "unauthenticated",
            ApiError::WrongCredentials => "wrong_credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::NameTaken => "name_taken",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::RateLimited | ApiError::RetryAfter(_) => "rate_limited",
            ApiError::Internal => "internal",
            ApiError::App(error) => error.code(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::WrongCredentials | ApiError::NoApiKey => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::NameTaken => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited | ApiError::RetryAfter(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::App(error) => status_of(error.kind()),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({ "error": { "code": self.code(), "message": self.to_string() } });
        if let ApiError::App(error) = self {
            if let Some(trade) = error.to_json().get("trade") {
                body["trade"] = trade.clone();
            }
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::RetryAfter(wait) => {
                response.insert_header((
                    actix_web::http::header::RETRY_AFTER,
                    retry_after_secs(*wait).to_string(),
                ));
            }
            ApiError::NoApiKey => {
                response.insert_header((actix_web::http::header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        response.json(body)
    }
}

/// The HTTP status that answers an app's refusal of this kind.
fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::BadRequest(message) => ApiError::BadRequest(message),
            AppError::Unauthenticated => ApiError::Unauthenticated,
            AppError::NotInRoom => ApiError::Forbidden("join the room first"),
            AppError::RateLimited => ApiError::RateLimited,
            AppError::Internal => ApiError::Internal,
            other => ApiError::App(Box::new(other)),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::from(AppError::from(error))
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
            AccountError::RateLimited(wait) => ApiError::RetryAfter(wait),
            AccountError::Store(e) => {
                tracing::error!(error = %e, "storage failed");
                ApiError::Internal
            }
            AccountError::Hashing => {
                tracing::error!("password hashing failed");
                ApiError::Internal
            }
        }
    }
}

/// Whole seconds to wait, at least 1 (the `Retry-After` header has no fractions).
fn retry_after_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TradeError;

    fn status(error: AppError) -> (StatusCode, &'static str) {
        let error = ApiError::from(error);
        (error.status_code(), error.code())
    }

    #[test]
    fn app_refusals_answer_with_the_status_of_their_kind() {
        let cases = [
            (
                AppError::BadRequest("no".into()),
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            (
                AppError::Unauthenticated,
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
            ),
            (AppError::NotInRoom, StatusCode::FORBIDDEN, "forbidden"),
            (
                AppError::RateLimited,
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
            ),
            (
                AppError::TooManyRooms,
                StatusCode::BAD_REQUEST,
                "too_many_rooms",
            ),
            (AppError::RoomsFull, StatusCode::BAD_REQUEST, "rooms_full"),
            (AppError::EmptyOffer, StatusCode::BAD_REQUEST, "empty_offer"),
            (
                AppError::Internal,
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
            ),
        ];
        for (error, expected, code) in cases {
            assert_eq!(status(error), (expected, code));
        }
        let trades = [
            (
                TradeError::UnknownUser,
                StatusCode::NOT_FOUND,
                "unknown_user",
            ),
            (TradeError::SelfTrade, StatusCode::BAD_REQUEST, "self_trade"),
            (TradeError::NotOwner, StatusCode::CONFLICT, "not_owner"),
            (TradeError::NotTheirs, StatusCode::CONFLICT, "not_theirs"),
            (TradeError::NotFound, StatusCode::NOT_FOUND, "not_found"),
            (TradeError::Forbidden, StatusCode::FORBIDDEN, "forbidden"),
        ];
        for (error, expected, code) in trades {
            assert_eq!(status(AppError::Trade(error)), (expected, code));
        }
    }
}
