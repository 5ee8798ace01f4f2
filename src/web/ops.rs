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

/// `GET /readyz`: the database answers and, in a cluster, Redis is reachable (503 otherwise).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.apps.store.ping().await;
    let cluster = state.cluster.as_ref().map(|c| c.is_connected());
    crate::metrics::get()
        .cluster_connected
        .set(i64::from(cluster.unwrap_or(true)));
    let body = json!({
        "status": if database && cluster != Some(false) { "ready" } else { "unavailable" },
        "database": if database { "ok" } else { "unreachable" },
        "cluster": match cluster { None => "off", Some(true) => "ok", Some(false) => "unreachable" },
    });
    if database && cluster != Some(false) {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    if let Some(cluster) = &state.cluster {
        crate::metrics::get()
            .cluster_connected
            .set(i64::from(cluster.is_connected()));
    }
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
