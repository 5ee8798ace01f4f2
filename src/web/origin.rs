//! Origin checks and CORS. Browsers send `Origin` with WebSocket handshakes and cross-site requests;
//! only the server's own origin and the configured ones may open sockets or call the API, which
//! stops cross-site WebSocket hijacking. Allowed cross-origin requests get CORS headers with
//! credentials, always naming the origin (never a wildcard).

use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};

use super::error::ApiError;
use crate::engineio::EngineError;

/// How long browsers may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The origins allowed besides the server's own.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    allowed: Arc<Vec<String>>,
}

/// What the `Origin` of a request means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No `Origin` header: not a browser's cross-site request.
    Absent,
    /// The page came from this server.
    SameOrigin,
    /// An allowed other origin.
    Allowed(String),
    /// Any other origin.
    Refused(String),
}

impl OriginPolicy {
    /// A policy allowing these origins (like `https://app.example.com`) besides the server's own.
    pub fn new(allowed: &[String]) -> OriginPolicy {
        OriginPolicy {
            allowed: Arc::new(allowed.iter().map(|o| normalize(o)).collect()),
        }
    }

    /// Judges a request's `Origin` against its `Host` and the allowed list.
    pub fn verdict(&self, origin: Option<&str>, host: Option<&str>) -> Verdict {
        let Some(origin) = origin else {
            return Verdict::Absent;
        };
        let origin = normalize(origin);
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        if let (Some(authority), Some(host)) = (authority, host) {
            if authority.eq_ignore_ascii_case(host) {
                return Verdict::SameOrigin;
            }
        }
        if self.allowed.contains(&origin) {
            Verdict::Allowed(origin)
        } else {
            Verdict::Refused(origin)
        }
    }

    /// The origin, if this policy refuses it (a request without `Origin` is not refused).
    pub fn refused(&self, origin: Option<&str>, host: Option<&str>) -> Option<String> {
        match self.verdict(origin, host) {
            Verdict::Refused(origin) => Some(origin),
            _ => None,
        }
    }
}

fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// Middleware: refuses handshakes, API calls and state-changing requests from other origins with
/// 403, answers preflights, and adds CORS headers for allowed origins.
pub async fn enforce(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let policy = req
        .app_data::<actix_web::web::Data<OriginPolicy>>()
        .map(|p| p.get_ref().clone())
        .unwrap_or_default();
    let header_str = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let verdict = policy.verdict(header_str(header::ORIGIN), header_str(header::HOST));
    let path = req.path();
    let is_socket = path.starts_with("/socket.io") && !path.ends_with(".js");
    let sensitive = is_socket
        || path.starts_with("/api/")
        || !matches!(*req.method(), Method::GET | Method::HEAD);
    match verdict {
        Verdict::Refused(origin) if sensitive => {
            tracing::warn!(%origin, path, "request from a refused origin");
            let response = if is_socket {
                EngineError::Forbidden.error_response()
            } else {
                ApiError::Forbidden("this origin is not allowed").error_response()
            };
            Ok(req.into_response(response).map_into_right_body())
        }
        Verdict::Allowed(origin) if req.method() == Method::OPTIONS => {
            let requested = header_str(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .unwrap_or("content-type, authorization")
                .to_string();
            let response = HttpResponse::NoContent()
                .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
                .insert_header((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"))
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"))
                .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, requested))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE))
                .insert_header((header::VARY, "Origin"))
                .finish();
            Ok(req.into_response(response).map_into_right_body())
        }
        Verdict::Allowed(origin) => {
            let mut response = next.call(req).await?;
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(&origin) {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
                // Appended: the response may vary on more (polling on `Accept-Encoding`).
                headers.append(header::VARY, HeaderValue::from_static("Origin"));
            }
            Ok(response.map_into_left_body())
        }
        _ => Ok(next.call(req).await?.map_into_left_body()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_origins() {
        let policy = OriginPolicy::new(&["https://App.example.com/".to_string()]);
        let host = Some("127.0.0.1:3000");
        assert_eq!(policy.verdict(None, host), Verdict::Absent);
        assert_eq!(
            policy.verdict(Some("http://127.0.0.1:3000"), host),
            Verdict::SameOrigin
        );
        assert_eq!(
            policy.verdict(Some("https://app.example.com"), host),
            Verdict::Allowed("https://app.example.com".into())
        );
        for refused in [
            "https://evil.example",
            "http://127.0.0.1:3001",
            "null",
            "http://127.0.0.1:3000.evil.example",
        ] {
            assert!(
                matches!(policy.verdict(Some(refused), host), Verdict::Refused(_)),
                "{refused}"
            );
        }
    }
}
