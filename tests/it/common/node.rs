//! Runs the Node.js scenario scripts (real socket.io-client, headless Chromium) against a server.

use std::path::Path;
use std::time::Duration;

/// Runs `node <script> <scenario> <args…>` from the crate root and asserts that it succeeded and
/// printed `ok <scenario>` last. `package` is a directory under the crate root that must hold the
/// script's npm dependency (`.ci/run` installs it).
pub async fn run_scenario(
    script: &str,
    package: &str,
    scenario: &str,
    args: &[String],
    limit: Duration,
) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join(package).exists(),
        "{package} is not installed: run .ci/run (npm ci in its folder)"
    );
    let output = tokio::time::timeout(
        limit,
        tokio::process::Command::new("node")
            .arg(script)
            .arg(scenario)
            .args(args)
            .current_dir(root)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("scenario {scenario} did not finish within {limit:?}"))
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.lines().last() == Some(&format!("ok {scenario}")),
        "scenario {scenario} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
}

/// The interop driver with the scenario list (the official socket.io-client).
pub const INTEROP_DRIVER: &str = "tests/interop/run.mjs";

/// Runs a driver of tests/interop (the official socket.io-client) against the server at `base`.
pub async fn run_interop(script: &str, scenario: &str, base: String, limit: Duration) {
    run_scenario(
        script,
        "tests/interop/node_modules/socket.io-client",
        scenario,
        &[base],
        limit,
    )
    .await;
}
