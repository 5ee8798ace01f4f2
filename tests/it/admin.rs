//! The Socket.IO Admin UI (`--admin-user`): the `/admin` namespace driven by the official
//! socket.io-client as `@socket.io/admin-ui` drives it (tests/interop/admin.mjs), the UI route
//! and its CSP, and nothing of it without the flag.

use std::time::Duration;

use agora::config::Settings;

use crate::common::app::{spawn_app, spawn_app_with, spawn_node_beside};
use crate::common::{header_of, http_client, WsFrame};

const USER: &str = "admin";
const PASSWORD: &str = "correct horse";
const SCENARIO_LIMIT: Duration = Duration::from_secs(30);
/// A bcrypt hash of [`PASSWORD`] (cost 4, to keep the test quick).
fn password_hash() -> String {
    bcrypt::hash(PASSWORD, 4).expect("bcrypt hashes")
}

fn with_admin(password: String, readonly: bool) -> impl FnOnce(&mut Settings) {
    move |settings| {
        settings.admin_user = Some(USER.to_string());
        settings.admin_password = Some(password);
        settings.admin_readonly = readonly;
    }
}

async fn scenario(name: &str, urls: &[String]) {
    let mut args: Vec<String> = urls.to_vec();
    args.extend([USER.to_string(), PASSWORD.to_string()]);
    crate::common::node::run_scenario(
        "tests/interop/admin.mjs",
        "tests/interop/node_modules/socket.io-client",
        name,
        &args,
        SCENARIO_LIMIT,
    )
    .await;
}

/// Runs the scenarios, in order, against one node with this password (plain or hashed).
async fn on_one_node(password: String, readonly: bool, names: &[&str]) {
    let app = spawn_app_with(with_admin(password, readonly)).await;
    for name in names {
        scenario(name, &[app.url("")]).await;
    }
}

#[actix_web::test]
async fn wrong_credentials_are_refused() {
    on_one_node(PASSWORD.to_string(), false, &["refused"]).await;
}

#[actix_web::test]
async fn guessing_is_stopped_after_ten_attempts() {
    on_one_node(PASSWORD.to_string(), false, &["guessing"]).await;
}

#[actix_web::test]
async fn admin_watches_sockets_rooms_events_and_operates() {
    on_one_node(PASSWORD.to_string(), false, &["watch"]).await;
}

#[actix_web::test]
async fn bcrypt_hashed_password_works() {
    on_one_node(password_hash(), false, &["watch", "refused"]).await;
}

/// A socket that drops and recovers is reported connected again with the rooms it got back.
#[actix_web::test]
async fn a_recovered_socket_is_reported_with_its_rooms() {
    on_one_node(PASSWORD.to_string(), false, &["recovered"]).await;
}

#[actix_web::test]
async fn readonly_admin_cannot_operate() {
    on_one_node(PASSWORD.to_string(), true, &["readonly"]).await;
}

#[actix_web::test]
async fn both_nodes_report_to_one_admin() {
    let key = format!("admin-test-{:016x}", rand::random::<u64>());
    let cluster = |settings: &mut Settings| {
        with_admin(PASSWORD.to_string(), false)(settings);
        settings.redis_url = Some("redis://127.0.0.1:6379".to_string());
        settings.redis_key = key.clone();
    };
    let first = spawn_app_with(cluster).await;
    let second = spawn_node_beside(&first, cluster).await;
    scenario("cluster", &[first.url(""), second.url("")]).await;
}

#[actix_web::test]
async fn no_admin_namespace_or_ui_without_the_flag() {
    let app = spawn_app().await;
    let (mut ws, _) = app.connect(&[], None).await;
    ws.send_text("40/admin,{\"username\":\"admin\",\"password\":\"x\"}")
        .await;
    let answer = loop {
        match ws.recv_data().await {
            WsFrame::Text(text)
                if text.starts_with("44/admin,") || text.starts_with("40/admin,") =>
            {
                break text
            }
            WsFrame::Text(_) => continue,
            other => panic!("no answer to the CONNECT: {other:?}"),
        }
    };
    assert!(
        answer.starts_with("44/admin,") && answer.contains("Invalid namespace"),
        "{answer}"
    );
    let response = http_client()
        .get(app.url("/admin/"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 404);
}

#[actix_web::test]
async fn ui_is_served_with_its_own_csp() {
    let app = spawn_app_with(with_admin(PASSWORD.to_string(), false)).await;
    let mut response = http_client()
        .get(app.url("/admin/"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 200);
    let csp = header_of(&response, "content-security-policy");
    assert!(
        csp.contains("https://fonts.googleapis.com") && csp.contains("'unsafe-inline'"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self';"), "{csp}");
    let body = response.body().await.expect("a body");
    assert!(String::from_utf8_lossy(&body).contains("Socket.IO Admin UI"));
    let redirect = awc::Client::builder()
        .disable_redirects()
        .finish()
        .get(app.url("/admin"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(redirect.status(), 308);
    assert_eq!(redirect.headers().get("location").unwrap(), "/admin/");
    // The rest of the site keeps its strict policy.
    let home = http_client()
        .get(app.url("/"))
        .send()
        .await
        .expect("an answer");
    let strict = header_of(&home, "content-security-policy");
    assert!(!strict.contains("unsafe-inline"), "{strict}");
}

#[actix_web::test]
async fn hosted_ui_origin_is_allowed_only_when_listed() {
    const HOSTED: &str = "https://admin.socket.io";
    let handshake = |app: &crate::common::app::TestApp| {
        http_client()
            .get(app.url("/socket.io/?EIO=4&transport=polling"))
            .insert_header(("Origin", HOSTED))
            .send()
    };
    let closed = spawn_app_with(with_admin(PASSWORD.to_string(), false)).await;
    assert_eq!(handshake(&closed).await.expect("an answer").status(), 403);
    let open = spawn_app_with(|settings| {
        with_admin(PASSWORD.to_string(), false)(settings);
        settings.allowed_origins = vec![HOSTED.to_string()];
    })
    .await;
    let response = handshake(&open).await.expect("an answer");
    assert_eq!(response.status(), 200);
    assert_eq!(header_of(&response, "access-control-allow-origin"), HOSTED);
    assert_eq!(
        header_of(&response, "access-control-allow-credentials"),
        "true"
    );
}
