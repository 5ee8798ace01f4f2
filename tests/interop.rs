//! Interop with the official socket.io-client 4.x from npm (tests/interop/run.mjs), driving the
//! conformance server over both transport paths: connect, acks both ways, rooms, binary, reconnect.
//! `.ci/run` installs the client with `npm ci --prefix tests/interop`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

/// The whole scenario list takes a few seconds; this is the ceiling before the test fails.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

async fn run_scenario(scenario: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("tests/interop/node_modules/socket.io-client")
            .exists(),
        "socket.io-client is not installed: run `npm ci --prefix tests/interop`"
    );
    let server = spawn_quiet().await;
    let output = tokio::time::timeout(
        SCENARIO_TIMEOUT,
        tokio::process::Command::new("node")
            .arg("tests/interop/run.mjs")
            .arg(scenario)
            .arg(server.http(""))
            .current_dir(root)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the interop script finished in time")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.lines().last() == Some(&format!("ok {scenario}")),
        "scenario {scenario} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
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
