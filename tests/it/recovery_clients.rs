//! Connection state recovery with real clients (tests/interop/recovery.mjs): the official
//! socket.io-client 4.x and Agora's own client (static/socket.io.js, loaded in Node) are cut off
//! abruptly from the app, miss chat messages, come back and get each of them once and in order; past
//! the recovery window they get a fresh session and catch up with `chat:join` `after`.
//! Needs `npm ci --prefix tests/interop`.

use std::time::Duration;

use crate::common::app::spawn_app_with;
use crate::common::node;
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
    let base = app.url("");
    node::run_interop(node::INTEROP_DRIVER, scenario, base, SCENARIO_TIMEOUT).await;
}

/// A short heartbeat and a recovery window of one second.
fn short_window(s: &mut Settings) {
    short_ping(s);
    s.recovery_window_secs = 1;
}

/// One test a scenario, run against an app with the given settings.
macro_rules! scenarios {
    ($($test:ident => $scenario:literal with $adjust:expr),* $(,)?) => {$(
        #[actix_web::test]
        async fn $test() {
            run_scenario($scenario, $adjust).await;
        }
    )*};
}

scenarios! {
    official_client_recovers_over_websocket => "recovery-websocket" with short_ping,
    official_client_recovers_over_polling => "recovery-polling" with short_ping,
    agora_client_recovers_over_websocket => "recovery-websocket-agora" with short_ping,
    agora_client_recovers_over_polling => "recovery-polling-agora" with short_ping,
    official_client_past_the_window_is_not_recovered_and_catches_up_with_after =>
        "recovery-expired" with short_window,
    agora_client_past_the_window_is_not_recovered_and_catches_up_with_after =>
        "recovery-expired-agora" with short_window,
}
