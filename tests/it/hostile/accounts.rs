//! Accounts under attack: hashing floods, parallel password guesses, and sessions that must end
//! everywhere when their user logs out.

use std::time::Duration;

use agora::accounts::{AccountError, Accounts, LoginLimits};
use agora::store::Store;
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::common::app::{credentials, spawn_app, spawn_app_with, spawn_node_beside, TestApp};
use crate::common::postgres::TestDatabase;
use crate::common::{http_client, Ws, WsFrame};

const PASSWORD: &str = "correct horse";
const REDIS: &str = "redis://127.0.0.1:6379";

/// A store on a fresh database (PostgreSQL when `AGORA_TEST_DATABASE=postgres`), and what keeps
/// that database alive.
async fn fresh_store() -> (Store, Box<dyn std::any::Any>) {
    if std::env::var("AGORA_TEST_DATABASE").as_deref() == Ok("postgres") {
        let database = TestDatabase::create().await;
        let store = Store::open(&database.url).await.expect("open the store");
        (store, Box::new(database))
    } else {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/agora.db", dir.path().display());
        let store = Store::open(&url).await.expect("open the store");
        (store, Box::new(dir))
    }
}

/// POSTs JSON; answers the status, the `Retry-After` header and the body.
async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Option<String>, Value) {
    let mut response = http_client()
        .post(app.url(path))
        .send_json(&body)
        .await
        .expect("POST");
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (response.status().as_u16(), retry_after, body)
}

/// Checks a 429 answer: `rate_limited`, and a whole number of seconds to wait, at least 1.
fn assert_limited(retry_after: &Option<String>, body: &Value) {
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    let wait: u64 = retry_after
        .as_deref()
        .expect("a Retry-After header")
        .parse()
        .expect("Retry-After in seconds");
    assert!(wait >= 1, "Retry-After {wait}");
}

async fn logout(app: &TestApp, token: &str) {
    let response = http_client()
        .post(app.url("/api/logout"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status(), 200);
}

/// The authors of the newest tweets.
async fn tweet_authors(app: &TestApp) -> Vec<String> {
    let mut response = http_client()
        .get(app.url("/api/tweets"))
        .send()
        .await
        .expect("GET /api/tweets");
    let tweets: Value = response.json().await.expect("tweets JSON");
    let list = tweets
        .as_array()
        .or_else(|| tweets["tweets"].as_array())
        .cloned()
        .unwrap_or_default();
    list.iter()
        .filter_map(|t| t["author"].as_str().map(str::to_owned))
        .collect()
}

/// Reads until the server closes the connection; answers whether a DISCONNECT of the main
/// namespace (`41`) came first, and whether a `newTweet` did.
async fn read_until_closed(ws: &mut Ws) -> (bool, bool) {
    let (mut disconnect, mut tweet) = (false, false);
    loop {
        match ws.recv_data().await {
            WsFrame::Text(text) if text == "41" => disconnect = true,
            WsFrame::Text(text) if text.starts_with("42[\"newTweet\"") => tweet = true,
            WsFrame::Close(_) => return (disconnect, tweet),
            _ => {}
        }
    }
}

#[actix_web::test]
async fn registrations_of_a_taken_name_are_answered_without_hashing() {
    let (store, _database) = fresh_store().await;
    let accounts = Accounts::new(store, LoginLimits::default());
    accounts
        .register("taken", PASSWORD, None)
        .await
        .expect("the first registration");
    assert_eq!(accounts.password_hashes(), 1);
    let attempts = (0..64).map(|i| {
        let accounts = accounts.clone();
        let name = if i % 2 == 0 { "taken" } else { "TAKEN" };
        async move { accounts.register(name, PASSWORD, None).await }
    });
    for result in join_all(attempts).await {
        assert!(matches!(result, Err(AccountError::NameTaken)), "{result:?}");
    }
    assert_eq!(accounts.password_hashes(), 1, "no hash for a taken name");

    // The same over HTTP: 409 `name_taken`, and the counter is in /metrics.
    let app = spawn_app().await;
    app.register("popular").await;
    let attempts = (0..64).map(|_| post(&app, "/api/register", credentials("popular", PASSWORD)));
    for (status, _, body) in join_all(attempts).await {
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["error"]["code"], "name_taken");
    }
    let (_, metrics) = crate::common::get(&app.url("/metrics")).await;
    assert!(metrics.contains("agora_password_hashes_total"), "{metrics}");
}

/// Counts the answers with status `expected` and the well-formed 429s; any other answer fails.
fn tally(answers: Vec<(u16, Option<String>, Value)>, expected: u16) -> (usize, usize) {
    let (mut answered, mut limited) = (0, 0);
    for (status, retry_after, body) in answers {
        match status {
            429 => {
                assert_limited(&retry_after, &body);
                limited += 1;
            }
            status if status == expected => answered += 1,
            other => panic!("unexpected {other}: {body}"),
        }
    }
    (answered, limited)
}

#[actix_web::test]
async fn registrations_beyond_the_hashing_queue_get_429_with_retry_after() {
    // One worker: one hash at a time and four waiting; 40 at once cannot all fit.
    let app = spawn_app_with(|s| {
        s.password_hash_workers = 1;
        s.registrations_per_ip = 1_000;
    })
    .await;
    let attempts = (0..40).map(|i| {
        post(
            &app,
            "/api/register",
            credentials(&format!("flood{i}"), PASSWORD),
        )
    });
    let (created, limited) = tally(join_all(attempts).await, 201);
    assert!(created >= 1, "some registrations go through");
    assert!(limited >= 1, "a full queue refuses ({created} created)");
    // The refusals were not the client's fault: a registration after the burst works.
    app.register("after-flood").await;
}

#[actix_web::test]
async fn registrations_per_address_are_limited() {
    let app = spawn_app_with(|s| s.registrations_per_ip = 3).await;
    for i in 0..3 {
        app.register(&format!("member{i}")).await;
    }
    let (status, retry_after, body) =
        post(&app, "/api/register", credentials("member3", PASSWORD)).await;
    assert_eq!(status, 429, "{body}");
    assert_limited(&retry_after, &body);
    // A taken name is still answered for what it is.
    let (status, _, body) = post(&app, "/api/register", credentials("member0", PASSWORD)).await;
    assert_eq!(status, 409, "{body}");
    // Signing in is not registering.
    let (status, _, body) = post(&app, "/api/login", credentials("member1", PASSWORD)).await;
    assert_eq!(status, 200, "{body}");
}

#[actix_web::test]
async fn parallel_wrong_guesses_meet_the_same_limit_as_serial_ones() {
    let app = spawn_app().await;
    app.register("victim").await;
    let guesses = (0..40).map(|i| {
        post(
            &app,
            "/api/login",
            credentials("victim", &format!("guess-{i:04}")),
        )
    });
    let (checked, limited) = tally(join_all(guesses).await, 401);
    assert!(
        (1..=5).contains(&checked),
        "at most 5 guesses checked, {checked} were"
    );
    assert_eq!(checked + limited, 40);
    let (status, _, _) = post(&app, "/api/login", credentials("victim", PASSWORD)).await;
    assert_eq!(status, 429, "even the right password waits out the window");
}

#[actix_web::test]
async fn good_logins_do_not_use_up_the_address_budget() {
    let app = spawn_app_with(|s| s.login_failures_per_ip = 3).await;
    app.register("regular").await;
    for name in ["ghost1", "ghost2"] {
        let (status, _, _) = post(&app, "/api/login", credentials(name, PASSWORD)).await;
        assert_eq!(status, 401);
    }
    for _ in 0..5 {
        let (status, _, body) = post(&app, "/api/login", credentials("regular", PASSWORD)).await;
        assert_eq!(status, 200, "a good login is never limited here: {body}");
    }
    let (status, _, _) = post(&app, "/api/login", credentials("ghost3", PASSWORD)).await;
    assert_eq!(status, 401, "the third failure is still within the budget");
    let (status, retry_after, body) =
        post(&app, "/api/login", credentials("ghost4", PASSWORD)).await;
    assert_eq!(status, 429);
    assert_limited(&retry_after, &body);
}

#[actix_web::test]
async fn logout_disconnects_the_sessions_socket_and_it_posts_nothing() {
    let app = spawn_app().await;
    let token = app.register("writer").await;
    let cookie = format!("agora_session={token}");
    let (mut ws, welcome) = app.connect(&[("Cookie", &cookie)], None).await;
    assert_eq!(welcome["user"], "writer");
    // Another tab of the same user, signed in with its own session, stays.
    let other_session = {
        let (status, _, body) = post(&app, "/api/login", credentials("writer", PASSWORD)).await;
        assert_eq!(status, 200);
        body["token"].as_str().expect("token").to_string()
    };
    let mut other_tab = app.client(Some(&other_session)).await;

    logout(&app, &token).await;
    // A client that ignores the answer and posts at once.
    ws.send_text(r#"421["tweet:post",{"text":"after logout"}]"#)
        .await;
    let (disconnected, _) = read_until_closed(&mut ws).await;
    assert!(disconnected, "the socket was told it is disconnected");
    assert!(!tweet_authors(&app).await.contains(&"writer".to_string()));

    let posted = other_tab
        .ack("tweet:post", json!({"text": "from the other tab"}))
        .await;
    assert!(
        posted["tweet"].is_object(),
        "the other session still works: {posted}"
    );
}

#[actix_web::test]
async fn a_node_that_missed_the_logout_still_refuses_the_sessions_posts() {
    // Two nodes on one database but no cluster: node B never hears of the logout on node A.
    let node_a = spawn_app().await;
    let node_b = spawn_node_beside(&node_a, |_| {}).await;
    let token = node_a.register("drifter").await;
    let mut socket = node_b.client(Some(&token)).await;
    assert_eq!(socket.name, "drifter");
    logout(&node_a, &token).await;
    socket
        .ws
        .send_text(r#"427["tweet:post",{"text":"stale session"}]"#)
        .await;
    let (disconnected, _) = read_until_closed(&mut socket.ws).await;
    assert!(
        disconnected,
        "the stale socket is disconnected when it tries"
    );
    assert!(!tweet_authors(&node_a)
        .await
        .contains(&"drifter".to_string()));
}

#[actix_web::test]
async fn logout_on_one_node_disconnects_the_sessions_socket_on_another() {
    let key = format!("agora-test-{:016x}", rand::random::<u64>());
    let in_cluster = |s: &mut agora::config::Settings| {
        s.redis_url = Some(REDIS.into());
        s.redis_key = key.clone();
    };
    let node_a = spawn_app_with(in_cluster).await;
    let node_b = spawn_node_beside(&node_a, in_cluster).await;
    let token = node_a.register("roamer").await;
    let cookie = format!("agora_session={token}");
    let (mut ws, welcome) = node_b.connect(&[("Cookie", &cookie)], None).await;
    assert_eq!(welcome["user"], "roamer");
    // The join of the session room has reached node B's hub before the logout.
    let _ = node_b.client(None).await;
    logout(&node_a, &token).await;
    let (disconnected, _) = read_until_closed(&mut ws).await;
    assert!(disconnected, "node B disconnected the socket");
}

#[actix_web::test]
async fn a_revoked_sessions_socket_is_not_recovered() {
    let app = spawn_app().await; // recovery is on by default
    let token = app.register("leaver").await;
    let author = app.register("author").await;
    let cookie = format!("agora_session={token}");
    let mut ws = app.socket(&[("Cookie", &cookie)]).await;
    ws.send_text("40").await;
    let WsFrame::Text(reply) = ws.recv_data().await else {
        panic!("no CONNECT answer");
    };
    let handshake: Value = serde_json::from_str(&reply[2..]).expect("CONNECT JSON");
    let pid = handshake["pid"].as_str().expect("a pid").to_string();
    let tweet = |text: &'static str| {
        let author = author.clone();
        let url = app.url("/api/tweets");
        async move {
            let response = http_client()
                .post(url)
                .insert_header(("Authorization", format!("Bearer {author}")))
                .send_json(&json!({ "text": text }))
                .await
                .expect("POST /api/tweets");
            assert_eq!(response.status(), 201);
        }
    };
    tweet("seen").await;
    let offset = loop {
        let WsFrame::Text(text) = ws.recv_data().await else {
            panic!("closed");
        };
        if let Some(event) = text.strip_prefix("42") {
            let args: Value = serde_json::from_str(event).expect("event JSON");
            if args[0] == "newTweet" {
                break args
                    .as_array()
                    .and_then(|a| a.last())
                    .cloned()
                    .expect("offset");
            }
        }
    };

    drop(ws); // cut: the socket is kept for recovery
    tokio::time::sleep(Duration::from_millis(200)).await;
    logout(&app, &token).await;
    tweet("missed").await;

    let mut back = app.socket(&[("Cookie", &cookie)]).await;
    back.send_text(&format!("40{}", json!({"pid": pid, "offset": offset})))
        .await;
    back.send_text(r#"421["tweet:post",{"text":"ghost"}]"#)
        .await;
    let WsFrame::Text(reply) = back.recv_data().await else {
        panic!("no CONNECT answer");
    };
    let again: Value = serde_json::from_str(reply.strip_prefix("40").expect("CONNECT")).unwrap();
    assert_ne!(again["pid"], json!(pid), "not recovered: {again}");
    let (disconnected, replayed) = read_until_closed(&mut back).await;
    assert!(!replayed, "nothing missed is replayed to a revoked session");
    assert!(disconnected, "the revoked socket is disconnected");
    assert!(!tweet_authors(&app).await.contains(&"leaver".to_string()));
}

#[actix_web::test]
async fn expired_sessions_are_purged() {
    let (store, _database) = fresh_store().await;
    let user = store
        .create_user("sleeper", "not-a-real-hash", &[])
        .await
        .expect("user");
    let now = agora::store::now_ms() / 1000;
    store
        .create_session("expired-hash", user.id, now - 10)
        .await
        .expect("expired session");
    store
        .create_session("valid-hash", user.id, now + 3600)
        .await
        .expect("valid session");
    assert_eq!(store.purge_expired_sessions().await.expect("purge"), 1);
    assert_eq!(store.purge_expired_sessions().await.expect("purge"), 0);
    assert!(store
        .session_user("valid-hash")
        .await
        .expect("lookup")
        .is_some());
}
