//! Connection state recovery with real clients (tests/interop/recovery.mjs): the official
//! socket.io-client 4.x and Agora's own client (static/socket.io.js, loaded in Node) are cut off
//! abruptly from the app, miss chat messages, come back and get each of them once and in order; past
//! the recovery window they get a fresh session and catch up with `chat:join` `after`.
//! Needs `npm ci --prefix tests/interop`.

use std::time::Duration;

use crate::common::app::spawn_app_with;
use agora::config::Settings;

/// One scenario takes a few seconds; this is the ceiling before the test fails.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

/// A short heartbeat, so that a polling client that vanishes is noticed within a second.
fn short_ping(s: &mut Settings) {
    s.ping_interval_ms = 500;
    s.ping_timeout_ms = 500;
}

async fn run_scenario(scenario: &str, adjust: impl FnOnce(&mut Settings)) {
    let app = spawn_app_with(adjust).await;
    crate::common::node::run_scenario(
        "tests/interop/run.mjs",
        "tests/interop/node_modules/socket.io-client",
        scenario,
        &[app.url("")],
        SCENARIO_TIMEOUT,
    )
    .await;
}

#[actix_web::test]
async fn official_client_recovers_over_websocket() {
    run_scenario("recovery-websocket", short_ping).await;
}

#[actix_web::test]
async fn official_client_recovers_over_polling() {
    run_scenario("recovery-polling", short_ping).await;
}

#[actix_web::test]
async fn agora_client_recovers_over_websocket() {
    run_scenario("recovery-websocket-agora", short_ping).await;
}

#[actix_web::test]
async fn agora_client_recovers_over_polling() {
    run_scenario("recovery-polling-agora", short_ping).await;
}

#[actix_web::test]
async fn official_client_past_the_window_is_not_recovered_and_catches_up_with_after() {
    run_scenario("recovery-expired", |s| {
        short_ping(s);
        s.recovery_window_secs = 1;
    })
    .await;
}

#[actix_web::test]
async fn agora_client_past_the_window_is_not_recovered_and_catches_up_with_after() {
    run_scenario("recovery-expired-agora", |s| {
        short_ping(s);
        s.recovery_window_secs = 1;
    })
    .await;
}
