//! A polling client whose network resets every connection at once, end to end with the official
//! socket.io-client (tests/interop/polling_drop.mjs): the app lets it go at once, keeps its socket
//! for recovery, and the client comes back recovered, with the same id and every message sent
//! meanwhile, once and in order. Needs `npm ci --prefix tests/interop`.
//!
//! The app keeps its default heartbeat (pings 25 s apart, 20 s to answer), so only the reset of
//! the pending GET can tell it the client is gone within the scenario's 8 s. Failed before the
//! drop guard: the session lived until the ping timeout, the socket was still connected when the
//! client came back, and the client was not recovered.

use std::time::Duration;

use crate::common::app::spawn_app_with;

/// The ceiling for the whole scenario (it takes a few seconds).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);
/// The heartbeat must be long enough that the ping timeout cannot end the session within the
/// scenario: interval + timeout of at least this many milliseconds.
const LONG_HEARTBEAT_MS: u64 = 30_000;

#[actix_web::test]
async fn official_polling_client_reset_by_the_network_is_recovered_at_once() {
    let app = spawn_app_with(|s| {
        assert!(
            s.ping_interval_ms + s.ping_timeout_ms >= LONG_HEARTBEAT_MS,
            "the default heartbeat is long"
        );
        assert!(s.recovery_window_secs > 0, "recovery is on by default");
    })
    .await;
    crate::common::node::run_scenario(
        "tests/interop/polling_drop.mjs",
        "tests/interop/node_modules/socket.io-client",
        "polling-drop",
        &[app.url("")],
        SCENARIO_TIMEOUT,
    )
    .await;
}
