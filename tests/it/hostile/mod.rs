//! Hostile clients: each submodule attacks one surface and checks the server holds. The checks
//! on `/metrics` read process-wide gauges, so these tests count on nextest's one process per test.

mod accounts;
mod chat;
mod frames;
mod polling_drop;
mod proxy;
mod random_client;
mod sockets;

use crate::common::app::TestApp;
use crate::common::{get, WAIT};

/// The value of one `/metrics` series (0 when absent).
pub async fn metric(app: &TestApp, series: &str) -> f64 {
    let (_, text) = get(&app.url("/metrics")).await;
    text.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

/// Waits (at most [`WAIT`], polling) until the series satisfies `ok`; answers its last value.
pub async fn metric_until(app: &TestApp, series: &str, ok: impl Fn(f64) -> bool) -> f64 {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let value = metric(app, series).await;
        if ok(value) || tokio::time::Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// `agora_sockets_open` of the main namespace.
pub const SOCKETS_OPEN: &str = "agora_sockets_open{namespace=\"/\"}";
