//! Engine.IO v4 rules, checked on the wire against the conformance server's echo endpoint
//! (`/engine.io/`), which runs Engine.IO with nothing above it.

use std::time::Duration;

use crate::common::*;
use actix_web::http::StatusCode;
use agora::engineio::EngineConfig;
use agora::socketio::SocketIoConfig;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn spawn_fast_heartbeat() -> TestServer {
    spawn_conformance(
        agora::conformance::engine_config(),
        SocketIoConfig::default(),
    )
    .await
}

#[actix_web::test]
async fn polling_handshake_sends_the_open_packet_with_the_default_settings() {
    let server = spawn_conformance(EngineConfig::default(), SocketIoConfig::default()).await;
    let session = server.echo_polling().await;
    let keys: Vec<&str> = session
        .open
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.len(),
        5,
        "exactly sid, upgrades, pingInterval, pingTimeout, maxPayload: {keys:?}"
    );
    assert_eq!(session.open["upgrades"], json!(["websocket"]));
    assert_eq!(session.open["pingInterval"], json!(25000));
    assert_eq!(session.open["pingTimeout"], json!(20000));
    assert_eq!(session.open["maxPayload"], json!(1000000));
    assert_eq!(session.sid.len(), 20);
    server.stop().await;
}

#[actix_web::test]
async fn websocket_handshake_offers_no_upgrade_and_uses_configured_timings() {
    let server = spawn_fast_heartbeat().await;
    let mut ws = Ws::connect(&server.ws("/engine.io/?EIO=4&transport=websocket")).await;
    let WsFrame::Text(open) = ws.recv().await else {
        panic!("expected the open packet");
    };
    let open: Value = serde_json::from_str(&open[1..]).unwrap();
    assert_eq!(open["upgrades"], json!([]));
    assert_eq!(open["pingInterval"], json!(300));
    assert_eq!(open["pingTimeout"], json!(200));
    server.stop().await;
}

#[actix_web::test]
async fn bad_handshakes_get_the_protocol_error_codes() {
    let server = spawn_quiet().await;
    let cases = [
        (
            "GET",
            "/engine.io/?transport=polling",
            5,
            "Unsupported protocol version",
        ),
        (
            "GET",
            "/engine.io/?EIO=abc&transport=polling",
            5,
            "Unsupported protocol version",
        ),
        (
            "GET",
            "/engine.io/?EIO=3&transport=polling",
            5,
            "Unsupported protocol version",
        ),
        ("GET", "/engine.io/?EIO=4", 0, "Transport unknown"),
        (
            "GET",
            "/engine.io/?EIO=4&transport=abc",
            0,
            "Transport unknown",
        ),
        (
            "POST",
            "/engine.io/?EIO=4&transport=polling",
            2,
            "Bad handshake method",
        ),
        (
            "PUT",
            "/engine.io/?EIO=4&transport=polling",
            2,
            "Bad handshake method",
        ),
        (
            "GET",
            "/engine.io/?EIO=4&transport=polling&sid=nope",
            1,
            "Session ID unknown",
        ),
        (
            "POST",
            "/engine.io/?EIO=4&transport=polling&sid=nope",
            1,
            "Session ID unknown",
        ),
        (
            "GET",
            "/engine.io/?EIO=4&transport=websocket&sid=nope",
            1,
            "Session ID unknown",
        ),
    ];
    for (method, path, code, message) in cases {
        let request = http_client().request(method.parse().unwrap(), server.http(path));
        let mut response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "{method} {path}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"code": code, "message": message}),
            "{method} {path}"
        );
    }
    server.stop().await;
}

#[actix_web::test]
async fn polling_carries_text_and_binary_packets_both_ways() {
    let server = spawn_quiet().await;
    let session = server.echo_polling().await;
    let (status, body) = session.post("4hello\x1e4é\x1ebAQIDBA==").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    let (status, body) = session.get().await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "4hello\x1e4é\x1ebAQIDBA==");
    server.stop().await;
}

#[actix_web::test]
async fn a_long_poll_waits_for_data() {
    let server = spawn_quiet().await;
    let session = server.echo_polling().await;
    let poll = session.pending_get(Duration::from_millis(100)).await;
    assert!(
        !poll.is_finished(),
        "the GET must wait while nothing is queued"
    );
    session.post("4late").await;
    let (status, body) = poll.await.unwrap();
    assert_eq!((status, body.as_str()), (StatusCode::OK, "4late"));
    server.stop().await;
}

#[actix_web::test]
async fn a_second_concurrent_get_closes_the_session() {
    let server = spawn_quiet().await;
    let session = server.echo_polling().await;
    let first = session.pending_get(Duration::from_millis(50)).await;
    let (status, _) = session.get().await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(first.await.unwrap(), (StatusCode::OK, "1".to_string()));
    session.expect_gone().await;
    assert!(server.echo.registry().is_empty());
    server.stop().await;
}

#[actix_web::test]
async fn a_malformed_polling_payload_closes_only_its_session() {
    let server = spawn_quiet().await;
    let bystander = server.echo_polling().await;
    for bad in ["abc", "4ok\x1e", "bnot-base64!", "\x1e\x1e"] {
        let session = server.echo_polling().await;
        assert_eq!(
            session.post(bad).await.0,
            StatusCode::BAD_REQUEST,
            "{bad:?}"
        );
        assert_eq!(session.get().await.0, StatusCode::BAD_REQUEST, "{bad:?}");
    }
    bystander.post("4still here").await;
    assert_eq!(bystander.get().await.1, "4still here");
    server.stop().await;
}

#[actix_web::test]
async fn an_oversized_polling_post_gets_413_and_nothing_of_it_is_delivered() {
    let server = spawn_quiet().await;
    let session = server.echo_polling().await;
    let body = format!("4{}", "x".repeat(1_000_000));
    let (status, _) = session.post(&body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // As with the reference server, the session survives and the refused payload is dropped whole.
    session.post("4small").await;
    assert_eq!(session.get().await, (StatusCode::OK, "4small".to_string()));
    server.stop().await;
}

#[actix_web::test]
async fn a_post_that_declares_too_large_a_body_is_refused_before_it_is_read() {
    let server = spawn_quiet().await;
    let session = server.echo_polling().await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let request = format!(
        "POST /engine.io/?EIO=4&transport=polling&sid={} HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n4hi",
        session.sid
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = vec![0u8; 64];
    let read = tokio::time::timeout(WAIT, stream.read(&mut response))
        .await
        .expect("the server answers without waiting for the body")
        .unwrap();
    let head = String::from_utf8_lossy(&response[..read]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    server.stop().await;
}

#[actix_web::test]
async fn polling_heartbeat_pings_and_accepts_pongs() {
    let server = spawn_fast_heartbeat().await;
    let session = server.echo_polling().await;
    for _ in 0..3 {
        assert_eq!(session.get().await, (StatusCode::OK, "2".to_string()));
        assert_eq!(session.post("3").await.0, StatusCode::OK);
    }
    server.stop().await;
}

#[actix_web::test]
async fn a_polling_session_without_pong_times_out() {
    let server = spawn_fast_heartbeat().await;
    let session = server.echo_polling().await;
    tokio::time::sleep(Duration::from_millis(300 + 200 + 100)).await;
    session.expect_gone().await;
    server.stop().await;
}

#[actix_web::test]
async fn websocket_heartbeat_pings_and_times_out_without_pong() {
    let server = spawn_fast_heartbeat().await;
    let mut ws = server.echo_ws().await;
    for _ in 0..3 {
        assert_eq!(ws.recv().await, WsFrame::Text("2".into()));
        ws.send_text("3").await;
    }
    assert_eq!(ws.recv().await, WsFrame::Text("2".into()));
    ws.expect_close().await;
    server.stop().await;
}

#[actix_web::test]
async fn a_close_packet_releases_the_pending_get_and_ends_the_session() {
    let server = spawn_quiet().await;
    let session = server.echo_polling().await;
    let pending = session.pending_get(Duration::from_millis(50)).await;
    assert_eq!(session.post("1").await.0, StatusCode::OK);
    assert_eq!(pending.await.unwrap(), (StatusCode::OK, "6".to_string()));
    session.expect_gone().await;

    let mut ws = server.echo_ws().await;
    ws.send_text("1").await;
    ws.expect_close().await;
    server.stop().await;
}

#[actix_web::test]
async fn websocket_carries_text_and_binary_messages() {
    let server = spawn_quiet().await;
    let mut ws = server.echo_ws().await;
    ws.send_text("4hello").await;
    assert_eq!(ws.recv().await, WsFrame::Text("4hello".into()));
    ws.send_binary(&[1, 2, 3, 4]).await;
    assert_eq!(ws.recv().await, WsFrame::Binary(vec![1, 2, 3, 4].into()));
    server.stop().await;
}

#[actix_web::test]
async fn malformed_websocket_packets_close_only_that_socket() {
    let server = spawn_quiet().await;
    let mut bystander = server.echo_ws().await;
    for bad in ["abc", "", "9", "bnot base64"] {
        let mut ws = server.echo_ws().await;
        ws.send_text(bad).await;
        assert_eq!(ws.expect_close().await, Some(1002), "{bad:?}");
    }
    bystander.send_text("4fine").await;
    assert_eq!(bystander.recv().await, WsFrame::Text("4fine".into()));
    server.stop().await;
}

#[actix_web::test]
async fn an_oversized_websocket_message_closes_with_1009() {
    let server = spawn_quiet_with(|engine| engine.max_payload = 1_000).await;
    let mut ws = server.echo_ws().await;
    ws.send_text(&format!("4{}", "x".repeat(2_000))).await;
    assert_eq!(ws.expect_close().await, Some(1009));
    server.stop().await;
}

#[actix_web::test]
async fn upgrade_keeps_every_packet_once_and_in_order() {
    let server = spawn_quiet().await;
    let session = server.echo_polling().await;
    let mut received = Vec::new();

    session.post("4m1\x1e4m2\x1e4m3").await;
    let mut ws = server.echo_upgrade(&session.sid).await;
    ws.send_text("2probe").await;
    assert_eq!(ws.recv().await, WsFrame::Text("3probe".into()));
    // Messages keep flowing over polling during the probe.
    session.post("4m4\x1e4m5").await;
    let (_, body) = session.get().await;
    received.extend(body.split('\x1e').map(str::to_string));
    session.post("4m6").await;
    ws.send_text("5").await;
    ws.send_text("4m7").await;
    while received.last().map(String::as_str) != Some("4m7") {
        match ws.recv().await {
            WsFrame::Text(text) => received.push(text),
            other => panic!("unexpected {other:?}"),
        }
    }
    let expected: Vec<String> = (1..=7).map(|i| format!("4m{i}")).collect();
    assert_eq!(received, expected);

    // The old transport is gone; so is a second upgrade of the same session.
    session.expect_gone().await;
    let mut second = server.echo_upgrade(&session.sid).await;
    second.expect_close().await;
    ws.send_text("4still").await;
    assert_eq!(ws.recv().await, WsFrame::Text("4still".into()));
    server.stop().await;
}

#[actix_web::test]
async fn a_pending_get_is_released_with_a_noop_after_the_probe() {
    let server = spawn_quiet().await;
    let session = server.echo_polling().await;
    let pending = session.pending_get(Duration::ZERO).await;
    let mut ws = server.echo_upgrade(&session.sid).await;
    ws.send_text("2probe").await;
    assert_eq!(ws.recv().await, WsFrame::Text("3probe".into()));
    assert_eq!(pending.await.unwrap(), (StatusCode::OK, "6".to_string()));
    server.stop().await;
}

#[actix_web::test]
async fn a_polling_client_that_stops_reading_is_dropped_and_its_queue_freed() {
    let server = spawn_quiet_with(|engine| engine.max_queue = 8).await;
    let session = server.echo_polling().await;
    let flood: Vec<String> = (0..20).map(|i| format!("4msg{i}")).collect();
    session.post(&flood.join("\x1e")).await;
    session.expect_gone().await;
    assert!(server.echo.registry().is_empty());
    server.stop().await;
}

#[actix_web::test]
async fn a_packet_starting_with_a_multibyte_character_is_refused_without_a_panic() {
    let server = spawn_quiet().await;
    let session = server.echo_polling().await;
    assert_eq!(session.post("4ok\x1eé").await.0, StatusCode::BAD_REQUEST);
    let mut ws = server.echo_ws().await;
    ws.send_text("é").await;
    assert_eq!(ws.expect_close().await, Some(1002));
    let fine = server.echo_polling().await;
    fine.post("4still serving").await;
    assert_eq!(fine.get().await.1, "4still serving");
    server.stop().await;
}
