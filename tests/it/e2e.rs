//! End-to-end tests in headless Chromium (Debian's `chromium`, driven by playwright-core from
//! tests/e2e): pages load, the welcome arrives over the socket, forms register and log in.
//! Screenshots land in target/e2e-screenshots for a person to look at.

use std::time::Duration;

use agora::config::Settings;
use agora::socketio::Parser;

use crate::common::app::spawn_app_with;

/// Ceiling for one scenario run, browser start included.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs a browser scenario against a fresh application.
pub async fn run_browser_scenario(scenario: &str) {
    run_browser_scenario_with(scenario, |_| {}).await;
}

/// Runs a browser scenario against a fresh application with settings adjusted by `adjust`.
pub async fn run_browser_scenario_with(scenario: &str, adjust: impl FnOnce(&mut Settings)) {
    let app = spawn_app_with(adjust).await;
    let screenshots = concat!(env!("CARGO_MANIFEST_DIR"), "/target/e2e-screenshots");
    crate::common::node::run_scenario(
        "tests/e2e/run.mjs",
        "tests/e2e/node_modules/playwright-core",
        scenario,
        &[app.url(""), screenshots.to_string()],
        SCENARIO_TIMEOUT,
    )
    .await;
}

#[actix_web::test]
async fn home_page_shows_the_welcome_and_who_is_online() {
    run_browser_scenario("home").await;
}

#[actix_web::test]
async fn a_user_registers_logs_out_and_logs_in_through_the_forms() {
    run_browser_scenario("register-login").await;
}

#[actix_web::test]
async fn a_chat_message_typed_in_one_browser_appears_in_the_other() {
    run_browser_scenario("chat").await;
}

/// The pages' client learns the server's parser from the page: the server refuses text packets
/// under `--parser msgpack`, so the chat works only if the browser speaks MessagePack.
#[actix_web::test]
async fn a_chat_message_appears_in_the_other_browser_under_the_msgpack_parser() {
    run_browser_scenario_with("chat", |settings| settings.parser = Parser::Msgpack).await;
}

#[actix_web::test]
async fn a_board_message_posted_in_one_browser_appears_in_the_other() {
    run_browser_scenario("board").await;
}

#[actix_web::test]
async fn a_tweet_raises_the_banner_in_the_other_browser_and_a_click_shows_it() {
    run_browser_scenario("feed").await;
}

#[actix_web::test]
async fn a_trade_offered_in_one_browser_is_accepted_in_the_other_and_both_inventories_update() {
    run_browser_scenario("trades").await;
}

#[actix_web::test]
async fn a_chat_page_that_goes_offline_shows_every_missed_message_once_after_it_comes_back() {
    run_browser_scenario("offline").await;
}

#[actix_web::test]
async fn chromium_negotiates_permessage_deflate_and_chat_works_with_it_on() {
    for scenario in ["deflate", "chat"] {
        run_browser_scenario_with(scenario, |settings| settings.per_message_deflate = true).await;
    }
}
