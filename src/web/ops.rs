//! What operators and orchestrators poll: `/healthz`, `/readyz`, `/metrics`, and the middleware
//! that counts HTTP requests by route and status.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers (503 otherwise).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.apps.store.ping().await {
        HttpResponse::Ok().json(json!({ "status": "ready", "database": "ok" }))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "database": "unreachable" }))
    }
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::metrics::get().render())
}

/// Middleware: counts each request under its route pattern (not its raw path, which would make
/// one series per id) and status.
pub async fn count_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let response = next.call(req).await?;
    crate::metrics::get()
        .http_requests
        .with_label_values(&[&route, response.status().as_str()])
        .inc();
    Ok(response)
}
