//! Sockets that cannot be left behind: CONNECT storms, polling GETs cut by the network, and
//! clients that stop reading.

use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::{metric, metric_until, SOCKETS_OPEN};
use crate::common::app::{online_count, spawn_app};
use crate::common::{get, Polling, Sio, WsFrame, WAIT};

/// The Engine.IO record separator between the packets of one polling body.
const SEP: char = '\u{1e}';

/// The packets of a polling body.
fn packets(body: &str) -> Vec<&str> {
    body.split(SEP).collect()
}

/// 200 CONNECTs in one POST (the first still in the main namespace's async middleware when the
/// others arrive) leave one socket, answered once; a fresh client sees one user beside itself;
/// once the session closes, no socket is left. Failed before the fix: 199 sockets stayed.
#[actix_rt::test]
async fn a_connect_storm_over_polling_leaves_one_socket_and_none_once_closed() {
    let app = spawn_app().await;
    let polling = Polling::open(&app.url("/socket.io/")).await;
    let storm = vec!["40"; 200].join(&SEP.to_string());
    let (status, _) = polling.post(&storm).await;
    assert_eq!(status, StatusCode::OK);
    // Read until the storm's guest announces itself online: by then it has joined its presence
    // room, so the fresh guest below must see it (the socket alone being open is too early).
    let mut bodies = String::new();
    let online = tokio::time::timeout(WAIT, async {
        while !bodies.contains(r#"42["online""#) {
            let (_, body) = polling.get().await;
            bodies.push_str(&body);
            bodies.push(SEP);
        }
    })
    .await;
    assert!(
        online.is_ok(),
        "the storm's guest never went online: {bodies}"
    );
    let answers = packets(&bodies)
        .into_iter()
        .filter(|p| p.starts_with("40{"))
        .count();
    assert_eq!(answers, 1, "one CONNECT answer: {bodies}");
    assert_eq!(metric_until(&app, SOCKETS_OPEN, |v| v >= 1.0).await, 1.0);

    let (fresh, online) = app.fresh_guest().await;
    let users = online_count(&online);
    assert_eq!(users, 2, "the storm's guest and the fresh one: {online}");
    assert_eq!(metric(&app, SOCKETS_OPEN).await, 2.0);

    let (status, _) = polling.post("1").await;
    assert_eq!(status, StatusCode::OK);
    drop(fresh);
    assert_eq!(metric_until(&app, SOCKETS_OPEN, |v| v == 0.0).await, 0.0);
}

/// The same storm as a burst of WebSocket frames: at most one socket at any time (later CONNECTs
/// are ignored while the first is answered, and close the connection once it is joined), and
/// none once the client is gone.
#[actix_rt::test]
async fn a_connect_storm_over_websocket_leaves_at_most_one_socket() {
    let app = spawn_app().await;
    let mut ws = app.socket(&[]).await;
    for _ in 0..200 {
        ws.send_text("40").await;
    }
    let mut answers = 0;
    loop {
        match ws.recv_data().await {
            WsFrame::Text(text) if text.starts_with("40{") => answers += 1,
            WsFrame::Close(_) => break,
            _ => {}
        }
    }
    assert!(answers <= 1, "{answers} CONNECT answers");
    let during = metric(&app, SOCKETS_OPEN).await;
    assert!(during <= 1.0, "{during} sockets");
    drop(ws);
    let after = metric_until(&app, SOCKETS_OPEN, |v| v == 0.0).await;
    assert_eq!(after, 0.0, "{after} sockets left (answers {answers})");
    let (_fresh, online) = app.fresh_guest().await;
    assert_eq!(online_count(&online), 1, "{online}");
}

/// A DISCONNECT while the socket is still in its middleware is a protocol violation that ends
/// that socket too: nothing registers later. Failed before the fix: the socket was forgotten by
/// its connection and registered once its middleware finished.
#[actix_rt::test]
async fn a_disconnect_while_joining_leaves_no_socket() {
    let app = spawn_app().await;
    let polling = Polling::open(&app.url("/socket.io/")).await;
    let (status, _) = polling.post(&format!("40{SEP}41")).await;
    assert_eq!(status, StatusCode::OK);
    // Give a forgotten middleware every chance to finish and register.
    let (_, body) = polling.get().await;
    assert!(!body.contains("40{"), "no CONNECT answer: {body}");
    let (_fresh, online) = app.fresh_guest().await;
    assert_eq!(online_count(&online), 1, "{online}");
    assert_eq!(metric(&app, SOCKETS_OPEN).await, 1.0);
}

/// Sends a polling GET on a raw TCP connection, then resets it (SO_LINGER 0).
async fn abandon_get(port: u16, sid: &str) {
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let request = format!(
        "GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.expect("send GET");
    // The GET must be pending in the session before the reset; nothing else tells the client.
    tokio::time::sleep(Duration::from_millis(300)).await;
    #[allow(deprecated)] // set_zero_linger is not in every tokio 1.x
    tcp.set_linger(Some(Duration::ZERO)).expect("SO_LINGER 0");
    drop(tcp);
}

/// A pending GET cut by a TCP reset ends the session at once as a transport error (pings are
/// 25 s + 20 s apart, so the ping timeout plays no part), and the socket is kept for recovery:
/// a new session presenting its pid gets the same socket id back, with what was sent meanwhile.
/// Failed before the fix: the session lived on until the ping timeout.
#[actix_rt::test]
async fn a_reset_pending_get_closes_the_session_at_once_and_keeps_the_socket() {
    let app = spawn_app().await;
    let before = metric(&app, "agora_disconnects_total{reason=\"transport error\"}").await;
    let polling = Polling::open(&app.url("/socket.io/")).await;
    polling.post("40").await;
    // Read until the `online` event, so that the next GET has nothing to take and waits.
    let mut body = String::new();
    while !body.contains(r#""online""#) {
        body.push_str(&polling.get().await.1);
        body.push(SEP);
    }
    let answer = packets(&body)
        .into_iter()
        .find_map(|p| p.strip_prefix("40"))
        .expect("CONNECT answer");
    let handshake: Value = serde_json::from_str(answer).expect("CONNECT JSON");
    let (sid, pid) = (handshake["sid"].clone(), handshake["pid"].clone());
    assert!(pid.is_string(), "recovery is on: {handshake}");
    // With recovery on, each event carries its offset as its last argument.
    let offset = packets(&body)
        .into_iter()
        .rev()
        .find_map(|p| serde_json::from_str::<Value>(p.strip_prefix("42")?).ok())
        .and_then(|event| event.as_array()?.last().cloned())
        .expect("an offset");

    abandon_get(app.port, &polling.sid).await;
    let closed = metric_until(
        &app,
        "agora_disconnects_total{reason=\"transport error\"}",
        |v| v > before,
    )
    .await;
    assert!(closed > before, "closed as a transport error at once");
    let (status, body) = get(&polling.url).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "session gone: {body}");

    // Sent meanwhile: a new user's arrival, broadcast to the namespace.
    let _sender = app.client(None).await;
    let back = Polling::open(&app.url("/socket.io/")).await;
    let auth = json!({ "pid": pid, "offset": offset });
    back.post(&format!("40{auth}")).await;
    let (_, body) = back.get().await;
    let answer = packets(&body)
        .into_iter()
        .find_map(|p| p.strip_prefix("40"))
        .expect("CONNECT answer");
    let handshake: Value = serde_json::from_str(answer).expect("CONNECT JSON");
    assert_eq!(handshake["sid"], sid, "same socket: {handshake}");
    assert_eq!(handshake["pid"], pid, "recovered: {handshake}");
    let mut replay = body.clone();
    while !replay.contains(r#""online""#) {
        replay.push_str(&back.get().await.1);
    }
    assert!(
        replay.contains(r#"{"users":["#),
        "the missed online list: {replay}"
    );
}

/// A WebSocket client that stops reading while 100 KB broadcasts pile up is dropped as a slow
/// consumer once a few MiB wait, long before 1,024 frames do. Failed before the fix: 300
/// frames (30 MB) waited and the client stayed.
#[actix_rt::test]
async fn a_websocket_client_that_stops_reading_is_dropped_by_bytes() {
    let server = crate::common::spawn_quiet_with(|engine| engine.max_queue_bytes = 1 << 20).await;
    let (mut slow, _) = Sio::connect(&server).await;
    slow.send(r#"42["join","r"]"#).await;
    let (mut fast, _) = Sio::connect(&server).await;
    // Let the join land before the broadcasts.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let big = "x".repeat(100_000);
    let frame = format!("42{}", json!(["broadcast", "r", big]));
    for _ in 0..300 {
        fast.send(&frame).await;
    }
    // The fast client is still served.
    fast.send(r#"42["message","still here"]"#).await;
    assert_eq!(fast.recv_text().await, r#"42["message-back","still here"]"#);
    // The slow one, reading at last, finds its connection closed before all 300 arrived.
    let mut received = 0;
    let code = loop {
        match slow.ws.recv_data().await {
            WsFrame::Text(text) if text.starts_with("42[\"msg\"") => received += 1,
            WsFrame::Close(code) => break code,
            _ => {}
        }
    };
    assert!(received < 300, "dropped before the end ({received} read)");
    assert_eq!(code, Some(1008), "closed as a slow consumer (policy)");
}

/// A polling client that never GETs while 100 KB echoes pile up is dropped by bytes: its
/// session is gone (`Session ID unknown`) after a few MiB, not after 1,024 frames.
#[actix_rt::test]
async fn a_polling_client_that_never_reads_is_dropped_by_bytes() {
    let server = crate::common::spawn_quiet_with(|engine| engine.max_queue_bytes = 1 << 20).await;
    let polling = Polling::open(&server.http("/socket.io/")).await;
    polling.post("40").await;
    let big = "x".repeat(100_000);
    let frame = format!("42{}", json!(["message", big]));
    let mut refused = None;
    for sent in 0..40 {
        let (status, _) = polling.post(&frame).await;
        if status != StatusCode::OK {
            refused = Some(sent);
            break;
        }
    }
    let sent = refused.expect("the session was dropped");
    assert!(sent <= 12, "dropped after about 1 MiB, at {sent} messages");
    let (status, _) = polling.get().await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
