//! Security headers on every response: a Content Security Policy that allows only this server's
//! own scripts, styles, images and connections and no framing, `nosniff`, a same-origin referrer
//! policy and `X-Frame-Options` for browsers that predate `frame-ancestors`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// The Content Security Policy. The pages load only files from this server (no inline scripts or
/// styles, no external resources), connect their sockets back to it, post forms to it, and may
/// not be framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Referrers go to this server only, never to other sites.
pub const REFERRER_POLICY: &str = "same-origin";

/// The headers [`secure`] adds, unless a handler set them itself.
pub const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, REFERRER_POLICY),
    (header::X_FRAME_OPTIONS, "DENY"),
];

/// Middleware: adds [`SECURITY_HEADERS`] to every response (pages, API, static files, errors and
/// Engine.IO alike).
pub async fn secure(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    Ok(response)
}
