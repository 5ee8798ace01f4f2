//! Interop with the official socket.io-client 4.x from npm (tests/interop/run.mjs), driving the
//! conformance server over both transport paths: connect, acks both ways, rooms, binary, reconnect.
//! `.ci/run` installs the client with `npm ci --prefix tests/interop`.

use std::time::Duration;

use crate::common::*;

/// The whole scenario list takes a few seconds; this is the ceiling before the test fails.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs one scenario of tests/interop/run.mjs against a fresh conformance server.
pub async fn run_scenario(scenario: &str) {
    let server = spawn_quiet().await;
    let base = server.http("");
    node::run_interop(node::INTEROP_DRIVER, scenario, base, SCENARIO_TIMEOUT).await;
    server.stop().await;
}

#[actix_web::test]
async fn official_client_passes_every_scenario() {
    run_scenario("all").await;
}

#[actix_web::test]
async fn official_client_reconnects_over_polling() {
    run_scenario("reconnect-polling").await;
}
