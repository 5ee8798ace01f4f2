//! `POST /api/emit`: a backend with an API key publishes events to everyone, rooms, single sockets,
//! on every node of a cluster; without the right key, or with bad input, nothing is sent.

use std::time::Duration;

use agora::config::Settings;
use agora::web::api_keys::ApiKey;
use serde_json::{json, Value};

use crate::common::app::{spawn_app_with, spawn_node_beside, Client, TestApp};
use crate::common::{http_client, WsFrame};

const KEY: &str = "emit-key-0123456789abcdef";
const OTHER_KEY: &str = "emit-key-rotated-0123456789";
const REDIS: &str = "redis://127.0.0.1:6379";

/// How long a socket must stay quiet to count as not reached.
const SILENCE: Duration = Duration::from_millis(300);

/// Settings with these API keys.
fn with_keys(keys: &'static [&'static str]) -> impl FnOnce(&mut Settings) {
    move |s| {
        s.api_keys = keys.iter().map(|k| ApiKey::parse(k).unwrap()).collect();
    }
}

/// POSTs `body` (raw text) to `/api/emit` with these headers: the status and the JSON answer.
async fn post_raw(app: &TestApp, headers: &[(&str, &str)], body: String) -> (u16, Value) {
    let mut request = http_client()
        .post(app.url("/api/emit"))
        .insert_header(("Content-Type", "application/json"));
    for header in headers {
        request = request.insert_header(*header);
    }
    let mut response = request.send_body(body).await.expect("POST /api/emit");
    let status = response.status().as_u16();
    let answer = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, answer)
}

/// POSTs `body` to `/api/emit` with `Authorization: Bearer key`.
async fn emit_with(app: &TestApp, key: &str, body: Value) -> (u16, Value) {
    let bearer = format!("Bearer {key}");
    post_raw(app, &[("Authorization", &bearer)], body.to_string()).await
}

/// POSTs `body` with the main key and asserts it was accepted.
async fn emit(app: &TestApp, body: Value) {
    let (status, answer) = emit_with(app, KEY, body).await;
    assert_eq!(status, 202, "{answer}");
}

/// A guest client that joined the chat room `room` (its Socket.IO room is `chat:<room>`).
async fn member_of(app: &TestApp, room: &str) -> Client {
    let mut client = app.client(None).await;
    let joined = client.ack("chat:join", json!({ "room": room })).await;
    assert_eq!(joined["ok"], true, "{joined}");
    client
}

/// Emits to the room `chat:lobby` through `app`: its members get it, the outsider does not.
async fn reaches_the_lobby_only(app: &TestApp, members: [&mut Client; 2], outsider: &mut Client) {
    let body = json!({"rooms": ["chat:lobby"], "event": "news", "data": ["room"]});
    emit(app, body).await;
    for member in members {
        assert_eq!(member.event("news").await, "room");
    }
    assert!(outsider.quiet("news", SILENCE).await, "not in the room");
}

#[actix_web::test]
async fn emits_reach_everyone_rooms_except_and_socket_ids() {
    let app = spawn_app_with(with_keys(&[KEY])).await;
    let mut ann = member_of(&app, "lobby").await;
    let mut bob = member_of(&app, "lobby").await;
    let mut cat = app.client(None).await;

    emit(&app, json!({"event": "news", "data": ["all", {"n": 1}]})).await;
    for client in [&mut ann, &mut bob, &mut cat] {
        assert_eq!(client.event("news").await, "all");
    }

    reaches_the_lobby_only(&app, [&mut ann, &mut bob], &mut cat).await;

    let except =
        json!({"rooms": ["chat:lobby"], "except": [ann.id], "event": "news", "data": ["but ann"]});
    emit(&app, except).await;
    assert_eq!(bob.event("news").await, "but ann");
    assert!(ann.quiet("news", SILENCE).await, "ann was excepted");

    emit(
        &app,
        json!({"rooms": [cat.id], "event": "news", "data": ["cat"]}),
    )
    .await;
    assert_eq!(cat.event("news").await, "cat");
    assert!(ann.quiet("news", SILENCE).await && bob.quiet("news", SILENCE).await);

    let (status, answer) =
        emit_with(&app, KEY, json!({"namespace": "/nope", "event": "news"})).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

#[actix_web::test]
async fn keys_are_checked_and_rotate_and_are_no_sessions() {
    let app = spawn_app_with(with_keys(&[KEY, OTHER_KEY])).await;
    let mut cat = app.client(None).await;
    let body = json!({"event": "news", "data": [1]}).to_string();

    let (status, answer) = post_raw(&app, &[], body.clone()).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    let (status, answer) =
        emit_with(&app, "emit-key-wrong-0123456789", json!({"event": "news"})).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, _) = post_raw(&app, &[("Authorization", KEY)], body.clone()).await;
    assert_eq!(status, 401, "a key without Bearer is no key");
    let (status, _) = post_raw(&app, &[], "{not json".repeat(1 << 17)).await;
    assert_eq!(status, 401, "the key is checked before the body is read");

    let token = app.register("ann").await;
    let (status, _) = emit_with(&app, &token, json!({"event": "news"})).await;
    assert_eq!(status, 403, "a session token is not an API key");
    let cookie = format!("agora_session={token}");
    let (status, _) = post_raw(&app, &[("Cookie", &cookie)], body.clone()).await;
    assert_eq!(status, 401, "a session cookie is not an API key");
    assert!(cat.quiet("news", SILENCE).await, "nothing refused was sent");

    for key in [KEY, OTHER_KEY] {
        let (status, _) = emit_with(&app, key, json!({"event": "news", "data": [key]})).await;
        assert_eq!(status, 202);
        assert_eq!(cat.event("news").await, key);
    }

    let me = http_client()
        .get(app.url("/api/me"))
        .bearer_auth(KEY)
        .send();
    let status = me.await.expect("GET /api/me").status();
    assert_eq!(status, 401, "an API key is not a user session");
    let mut socket = app.socket(&[]).await;
    socket
        .send_text(&format!("40{}", json!({ "token": KEY })))
        .await;
    match socket.recv_data().await {
        WsFrame::Text(reply) => assert!(
            reply.starts_with("44") && reply.contains("unauthenticated"),
            "an API key signs no socket in: {reply}"
        ),
        other => panic!("expected a CONNECT_ERROR, got {other:?}"),
    }
}

#[actix_web::test]
async fn without_keys_the_endpoint_does_not_exist() {
    let app = spawn_app_with(|_| {}).await;
    let (status, answer) = emit_with(&app, KEY, json!({"event": "news"})).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

#[actix_web::test]
async fn bad_input_is_refused_and_sends_nothing() {
    let app = spawn_app_with(|s| {
        with_keys(&[KEY])(s);
        s.max_payload = 2048;
    })
    .await;
    let mut cat = app.client(None).await;
    let bearer = format!("Bearer {KEY}");
    let auth = [("Authorization", bearer.as_str())];

    let big = json!({"event": "news", "data": ["x".repeat(4096)]});
    let (status, answer) = emit_with(&app, KEY, big).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );

    let cases = [
        json!({"event": "connect"}).to_string(),
        json!({"event": "disconnect", "data": []}).to_string(),
        json!({"event": ""}).to_string(),
        json!({"event": "news", "data": "not a list"}).to_string(),
        json!({"event": "news", "rooms": (0..101).map(|i| format!("r{i}")).collect::<Vec<_>>()})
            .to_string(),
        json!({"event": "news", "namespace": "no-slash"}).to_string(),
        json!({"data": [1]}).to_string(),
        "{\"event\": \"news\", ".to_string(),
        "[]".to_string(),
    ];
    for body in cases {
        let (status, answer) = post_raw(&app, &auth, body.clone()).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some("bad_request")),
            "{body}: {answer}"
        );
        assert!(answer["error"]["message"].is_string(), "{answer}");
    }
    assert!(cat.quiet("news", SILENCE).await, "nothing refused was sent");
    let (status, _) = emit_with(&app, KEY, json!({"event": "news", "data": ["still fine"]})).await;
    assert_eq!(status, 202);
    assert_eq!(cat.event("news").await, "still fine");
}

#[actix_web::test]
async fn emits_cross_the_nodes_of_a_cluster() {
    let cluster = format!("agora-test-{:016x}", rand::random::<u64>());
    let in_cluster = |key: String| {
        move |s: &mut Settings| {
            s.redis_url = Some(REDIS.into());
            s.redis_key = key;
            with_keys(&[KEY])(s);
        }
    };
    let node_a = spawn_app_with(in_cluster(cluster.clone())).await;
    let node_b = spawn_node_beside(&node_a, in_cluster(cluster)).await;
    let mut on_a = member_of(&node_a, "lobby").await;
    let mut on_b = member_of(&node_b, "lobby").await;
    let mut other_b = node_b.client(None).await;

    reaches_the_lobby_only(&node_a, [&mut on_a, &mut on_b], &mut other_b).await;

    emit(
        &node_a,
        json!({"rooms": [other_b.id], "event": "news", "data": ["by id"]}),
    )
    .await;
    assert_eq!(other_b.event("news").await, "by id");
    emit(
        &node_b,
        json!({"except": [on_a.id], "event": "news", "data": ["all but"]}),
    )
    .await;
    assert_eq!(on_b.event("news").await, "all but");
    assert_eq!(other_b.event("news").await, "all but");
    assert!(on_a.quiet("news", SILENCE).await);
}

#[test]
fn keys_from_the_environment_are_checked_and_never_printed() {
    let run = |args: &[&str], keys: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_agora"))
            .args(args)
            .env("AGORA_API_KEYS", keys)
            .output()
            .expect("run agora")
    };
    let both = format!("{KEY},{OTHER_KEY}");
    for args in [&["--print-config"][..], &["--help"][..]] {
        let output = run(args, &both);
        assert!(output.status.success(), "{args:?}");
        let shown = String::from_utf8_lossy(&output.stdout);
        assert!(
            !shown.contains(KEY) && !shown.contains(OTHER_KEY),
            "{shown}"
        );
    }
    let output = run(&["--print-config"], &format!("{KEY},short"));
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("--api-key") && !error.contains(KEY),
        "{error}"
    );
}
