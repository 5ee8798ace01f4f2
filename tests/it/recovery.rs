//! Connection state recovery: a client whose connection is cut (not closed cleanly) and that comes
//! back within the window with its pid and last offset gets its socket id, rooms and every missed
//! packet, exactly once and in order; past the window it gets a fresh session.

use std::time::Duration;

use crate::common::app::{spawn_app, spawn_app_with, TestApp};
use crate::common::{get, texts_of, Polling, Ws, WsFrame};
use serde_json::{json, Value};

/// A raw recovering client: remembers its pid and the last offset it saw.
struct Recovering {
    ws: Ws,
    sid: String,
    pid: String,
    offset: Option<String>,
}

fn ws_url(app: &TestApp) -> String {
    format!(
        "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket",
        app.port
    )
}

impl Recovering {
    async fn connect(app: &TestApp, auth: Value) -> (Recovering, Value) {
        let mut ws = Ws::connect(&ws_url(app)).await;
        ws.recv().await;
        ws.send_text(&format!("40{auth}")).await;
        let WsFrame::Text(reply) = ws.recv_data().await else {
            panic!("no CONNECT reply");
        };
        let handshake: Value = serde_json::from_str(&reply[2..]).unwrap();
        let client = Recovering {
            ws,
            sid: handshake["sid"].as_str().unwrap().to_string(),
            pid: handshake["pid"]
                .as_str()
                .expect("a pid when recovery is on")
                .to_string(),
            offset: None,
        };
        (client, handshake)
    }

    /// The next event, recording its offset (the last argument).
    async fn event(&mut self) -> (String, Value) {
        loop {
            let WsFrame::Text(text) = self.ws.recv_data().await else {
                panic!("closed");
            };
            let Some(json) = text.strip_prefix("42") else {
                continue;
            };
            let packet: Value = serde_json::from_str(json).unwrap();
            let args = packet.as_array().unwrap();
            self.offset = args.last().and_then(|o| o.as_str()).map(str::to_owned);
            return (args[0].as_str().unwrap().to_string(), args[1].clone());
        }
    }

    async fn event_named(&mut self, name: &str) -> Value {
        loop {
            let (event, arg) = self.event().await;
            if event == name {
                return arg;
            }
        }
    }

    async fn ack(&mut self, id: u32, event: &str, arg: Value) -> Value {
        self.ws
            .send_text(&format!("42{id}{}", json!([event, arg])))
            .await;
        let prefix = format!("43{id}");
        loop {
            let WsFrame::Text(text) = self.ws.recv_data().await else {
                panic!("closed");
            };
            if let Some(rest) = text.strip_prefix(&prefix) {
                return serde_json::from_str::<Value>(rest).unwrap()[0].clone();
            }
            if let Some(json) = text.strip_prefix("42") {
                let packet: Value = serde_json::from_str(json).unwrap();
                self.offset = packet
                    .as_array()
                    .unwrap()
                    .last()
                    .and_then(|o| o.as_str())
                    .map(str::to_owned);
            }
        }
    }
}

async fn say(sender: &mut crate::common::app::Client, text: &str) {
    let sent = sender.say("lobby", text).await;
    assert_eq!(sent["ok"], true, "{sent}");
}

#[actix_web::test]
async fn a_websocket_client_cut_off_gets_every_missed_packet_once_and_in_order() {
    let app = spawn_app().await;
    let (mut a, handshake) = Recovering::connect(&app, json!({})).await;
    assert!(handshake["pid"].is_string());
    a.event_named("welcome").await;
    assert_eq!(
        a.ack(1, "chat:join", json!({"room": "lobby"})).await["ok"],
        true
    );
    let mut b = app.client(None).await;
    b.join("lobby").await;
    say(&mut b, "before").await;
    assert_eq!(a.event_named("chat:message").await["text"], "before");
    let (sid, pid, offset) = (a.sid.clone(), a.pid.clone(), a.offset.clone().unwrap());

    drop(a); // the TCP connection is cut: no close frame, no DISCONNECT
    tokio::time::sleep(Duration::from_millis(200)).await;
    for text in ["m1", "m2", "m3"] {
        say(&mut b, text).await;
    }

    let (mut back, handshake) =
        Recovering::connect(&app, json!({"pid": pid, "offset": offset})).await;
    assert_eq!(
        handshake,
        json!({"sid": sid, "pid": pid}),
        "same socket, recovered"
    );
    let mut texts = Vec::new();
    while texts.len() < 3 {
        let (event, arg) = back.event().await;
        if event == "chat:message" {
            texts.push(arg["text"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(texts, ["m1", "m2", "m3"]);
    say(&mut b, "live").await;
    assert_eq!(
        back.event_named("chat:message").await["text"],
        "live",
        "no duplicate before it"
    );
    assert_eq!(back.sid, sid);
    // Present in the room again without joining it anew: it can send there.
    let sent = back
        .ack(
            2,
            "chat:send",
            json!({"room": "lobby", "text": "I am back"}),
        )
        .await;
    assert_eq!(sent["ok"], true, "{sent}");
    assert_eq!(b.event("chat:message").await["text"], "I am back");
}

/// A heartbeat short enough that a polling client that vanishes is let go within half a second.
fn short_heartbeat(s: &mut agora::config::Settings) {
    s.ping_interval_ms = 300;
    s.ping_timeout_ms = 200;
}

#[actix_web::test]
async fn a_polling_client_that_vanishes_recovers_too() {
    let app = spawn_app_with(short_heartbeat).await;
    let base = app.url("/socket.io/");
    let session = Polling::open(&base).await;
    session.post("40").await;
    let (mut sid, mut pid) = (Value::Null, Value::Null);
    let mut last_offset = None;
    let mut joined = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !(joined && last_offset.is_some()) {
        assert!(std::time::Instant::now() < deadline, "no join ack");
        let (_, body) = session.get().await;
        for packet in body.split('\x1e') {
            if let Some(handshake) = packet.strip_prefix("40") {
                let handshake: Value = serde_json::from_str(handshake).unwrap();
                (sid, pid) = (handshake["sid"].clone(), handshake["pid"].clone());
                session.post(r#"421["chat:join",{"room":"lobby"}]"#).await;
            }
            if packet.starts_with("431") {
                joined = true;
            }
            if let Some(json) = packet.strip_prefix("42") {
                let args: Value = serde_json::from_str(json).unwrap();
                last_offset = args.as_array().unwrap().last().cloned();
            }
            if packet == "2" {
                session.post("3").await;
            }
        }
    }
    // The client stops polling; the server notices through the heartbeat and keeps the socket.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut b = app.client(None).await;
    b.join("lobby").await;
    say(&mut b, "while you were away").await;

    let again = Polling::open(&base).await;
    assert!(last_offset.is_some());
    again
        .post(&format!("40{}", json!({"pid": pid, "offset": last_offset})))
        .await;
    let mut received = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !received.contains("while you were away") {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing replayed to {sid} {pid} from {last_offset:?}: {received:?}"
        );
        let (status, body) = again.get().await;
        assert_eq!(status, 200, "{body}");
        if body.split('\x1e').any(|p| p == "2") {
            again.post("3").await;
        }
        received.push_str(&body);
        received.push('\x1e');
    }
    let reply = received
        .split('\x1e')
        .find(|p| p.starts_with("40"))
        .unwrap();
    let handshake: Value = serde_json::from_str(&reply[2..]).unwrap();
    assert_eq!(handshake, json!({"sid": sid, "pid": pid}));
    assert_eq!(received.matches("while you were away").count(), 1);
}

#[actix_web::test]
async fn past_the_window_the_client_gets_a_fresh_session_and_the_chat_catches_up_from_storage() {
    let app = spawn_app_with(|s| s.recovery_window_secs = 1).await;
    let (mut a, _) = Recovering::connect(&app, json!({})).await;
    let joined = a.ack(1, "chat:join", json!({"room": "lobby"})).await;
    assert_eq!(joined["ok"], true);
    let mut b = app.client(None).await;
    b.join("lobby").await;
    say(&mut b, "seen").await;
    let seen = a.event_named("chat:message").await;
    let (sid, pid, offset) = (a.sid.clone(), a.pid.clone(), a.offset.clone());
    drop(a);
    tokio::time::sleep(Duration::from_millis(300)).await;
    say(&mut b, "missed 1").await;
    say(&mut b, "missed 2").await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let (mut back, handshake) =
        Recovering::connect(&app, json!({"pid": pid, "offset": offset})).await;
    assert_ne!(handshake["sid"], json!(sid), "a new socket");
    assert_ne!(
        handshake["pid"],
        json!(pid),
        "the client is told it did not recover"
    );
    let caught_up = back
        .ack(
            1,
            "chat:join",
            json!({"room": "lobby", "after": seen["id"]}),
        )
        .await;
    assert_eq!(texts_of(&caught_up["history"]), ["missed 1", "missed 2"]);
}

#[actix_web::test]
async fn a_deliberate_disconnect_is_not_kept() {
    let app = spawn_app().await;
    let (mut a, _) = Recovering::connect(&app, json!({})).await;
    let (sid, pid) = (a.sid.clone(), a.pid.clone());
    a.ws.send_text("41").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, handshake) = Recovering::connect(&app, json!({"pid": pid, "offset": "x"})).await;
    assert_ne!(handshake["sid"], json!(sid));
}

#[actix_web::test]
async fn kept_sessions_and_recoveries_show_in_metrics() {
    let app = spawn_app().await;
    let recovered = |metrics: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with("agora_recoveries_total{result=\"recovered\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0)
    };
    let (_, before) = get(&app.url("/metrics")).await;
    let (mut a, _) = Recovering::connect(&app, json!({})).await;
    a.event_named("welcome").await;
    let (pid, offset) = (a.pid.clone(), a.offset.clone());
    drop(a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    Recovering::connect(&app, json!({"pid": pid, "offset": offset})).await;
    let (_, after) = get(&app.url("/metrics")).await;
    assert!(after.contains("agora_recovery_sessions "));
    assert!(after.contains("agora_recovery_log_bytes "));
    assert!(recovered(&after) > recovered(&before));
}
