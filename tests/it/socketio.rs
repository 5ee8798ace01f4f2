//! Socket.IO v5 rules, checked on the wire against the conformance server's `/socket.io/`.

use std::time::Duration;

use crate::common::*;
use agora::socketio::SocketIoConfig;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Long enough to be sure a packet that should not come does not.
const SILENCE: Duration = Duration::from_millis(300);

#[actix_web::test]
async fn connects_to_the_main_namespace_with_and_without_auth() {
    let server = spawn_quiet().await;
    let (_, id) = Sio::connect(&server).await;
    assert_eq!(id.len(), 20);

    let mut sio = Sio::open(&server).await;
    sio.join_namespace("/", Some(r#"{"token":"123"}"#)).await;
    assert_eq!(sio.recv_text().await, r#"42["auth",{"token":"123"}]"#);
    server.stop().await;
}

#[actix_web::test]
async fn namespaces_share_one_connection_with_distinct_sockets() {
    let server = spawn_quiet().await;
    let (mut sio, main_id) = Sio::connect(&server).await;
    let custom_id = sio
        .join_namespace("/custom", Some(r#"{"token":"abc"}"#))
        .await;
    assert_ne!(main_id, custom_id);
    assert_eq!(
        sio.recv_text().await,
        r#"42/custom,["auth",{"token":"abc"}]"#
    );

    // Leaving /custom leaves / untouched.
    sio.send("41/custom,").await;
    sio.send(r#"42["message","still here"]"#).await;
    assert_eq!(sio.recv_text().await, r#"42["message-back","still here"]"#);
    server.stop().await;
}

#[actix_web::test]
async fn an_unknown_namespace_gets_connect_error_and_the_connection_survives() {
    let server = spawn_quiet().await;
    let mut sio = Sio::open(&server).await;
    sio.send("40/random").await;
    assert_eq!(
        sio.recv_text().await,
        r#"44/random,{"message":"Invalid namespace"}"#
    );
    sio.join_namespace("/", None).await;
    assert_eq!(sio.recv_text().await, r#"42["auth",{}]"#);
    server.stop().await;
}

#[actix_web::test]
async fn a_connection_that_joins_no_namespace_is_closed_after_the_connect_timeout() {
    let config = SocketIoConfig {
        connect_timeout: Duration::from_millis(300),
        ..SocketIoConfig::default()
    };
    let server = spawn_conformance(quiet_engine(), config).await;
    let mut idle = Sio::open(&server).await;
    let (mut joined, _) = Sio::connect(&server).await;
    idle.ws.expect_close().await;
    tokio::time::sleep(SILENCE).await;
    joined.send(r#"42["message",1]"#).await;
    assert_eq!(joined.recv_text().await, r#"42["message-back",1]"#);
    server.stop().await;
}

#[actix_web::test]
async fn json_arguments_come_back_with_their_key_order() {
    let (server, mut sio) = quiet_client().await;
    let event = r#"42["message",{"z":1,"a":{"y":[1.5,"é\n\"q\""],"b":null}},"\u2028"]"#;
    sio.send(event).await;
    let echoed = sio.recv_text().await;
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(&s[2..]).unwrap();
    let expected = event.replacen("message", "message-back", 1);
    assert_eq!(parse(&echoed), parse(&expected));
    assert!(
        echoed.find("\"z\"") < echoed.find("\"a\""),
        "key order is kept: {echoed}"
    );
    server.stop().await;
}

#[actix_web::test]
async fn events_and_client_acks() {
    let (server, mut sio) = quiet_client().await;
    sio.send(r#"42["message",1,"2",{"3":[true]}]"#).await;
    assert_eq!(
        sio.recv_text().await,
        r#"42["message-back",1,"2",{"3":[true]}]"#
    );
    sio.send(r#"42456["message-with-ack",1,"2",{"3":[false]}]"#)
        .await;
    assert_eq!(sio.recv_text().await, r#"43456[1,"2",{"3":[false]}]"#);
    // An event nobody handles is ignored, not an error.
    sio.send(r#"42["nobody-listens"]"#).await;
    sio.send(r#"427["message-with-ack"]"#).await;
    assert_eq!(sio.recv_text().await, "437[]");
    // Arguments go back as the client wrote them: read, checked, never rewritten.
    sio.send(r#"428[ "message-with-ack" , 1.50, "\u00e9" , {"k" : [ ]} ]"#)
        .await;
    assert_eq!(
        sio.recv_text().await,
        r#"438[1.50, "\u00e9" , {"k" : [ ]}]"#
    );
    server.stop().await;
}

#[actix_web::test]
async fn replies_come_back_in_the_order_of_the_messages() {
    let (server, mut sio) = quiet_client().await;
    // Sent back to back without waiting, so several are handled in one turn of the WebSocket.
    let sent = 60;
    for i in 0..sent {
        if i % 2 == 0 {
            sio.send(&format!(r#"42["message",{i}]"#)).await;
        } else {
            sio.send(&format!(r#"42{i}["message-with-ack",{i}]"#)).await;
        }
    }
    for i in 0..sent {
        let expected = if i % 2 == 0 {
            format!(r#"42["message-back",{i}]"#)
        } else {
            format!("43{i}[{i}]")
        };
        assert_eq!(sio.recv_text().await, expected);
    }
    server.stop().await;
}

#[actix_web::test]
async fn binary_events_and_acks_keep_their_attachments() {
    let (server, mut sio) = quiet_client().await;
    sio.send(r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        .await;
    sio.ws.send_binary(&[1, 2, 3]).await;
    sio.ws.send_binary(&[4, 5, 6]).await;
    assert_eq!(
        sio.recv_text().await,
        r#"452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(
        sio.ws.recv_data().await,
        WsFrame::Binary(vec![1, 2, 3].into())
    );
    assert_eq!(
        sio.ws.recv_data().await,
        WsFrame::Binary(vec![4, 5, 6].into())
    );

    sio.send(r#"451-789["message-with-ack",{"nested":[{"_placeholder":true,"num":0}]}]"#)
        .await;
    sio.ws.send_binary(&[]).await;
    assert_eq!(
        sio.recv_text().await,
        r#"461-789[{"nested":[{"_placeholder":true,"num":0}]}]"#
    );
    assert_eq!(sio.ws.recv_data().await, WsFrame::Binary(vec![].into()));
    server.stop().await;
}

#[actix_web::test]
async fn the_server_waits_for_client_acks_with_a_timeout() {
    let (server, mut sio) = quiet_client().await;
    sio.send(r#"42["ask"]"#).await;
    let question = sio.recv_text().await;
    let id: String = question[2..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(!id.is_empty(), "the question asks for an ack: {question}");
    assert_eq!(&question[2 + id.len()..], r#"["question","ping?"]"#);
    sio.send(&format!(r#"43{id}["pong!"]"#)).await;
    assert_eq!(sio.recv_text().await, r#"42["answer","pong!"]"#);

    sio.send(r#"42["ask"]"#).await;
    sio.recv_text().await; // the question, left unanswered
    let started = std::time::Instant::now();
    assert_eq!(sio.recv_text().await, r#"42["answer","timeout"]"#);
    assert!(started.elapsed() >= Duration::from_millis(1_500));
    server.stop().await;
}

/// The ack id of an event packet `42<id>[...]` on the main namespace.
fn ack_id_of(packet: &str, args: &str) -> String {
    let id = packet
        .strip_prefix("42")
        .and_then(|rest| rest.strip_suffix(args))
        .unwrap_or_else(|| panic!("expected 42<id>{args}, got {packet}"));
    assert!(
        !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()),
        "{packet}"
    );
    id.to_string()
}

/// The `{error, responses}` a client got for `ask-room`, responses sorted.
fn ask_room_answer(packet: &str, ack: u64) -> (Value, Vec<String>) {
    let prefix = format!("43{ack}");
    let body = packet
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("expected {prefix}[…], got {packet}"));
    let answer: Value = serde_json::from_str(body).unwrap();
    let mut responses: Vec<String> = answer[0]["responses"]
        .as_array()
        .expect("responses")
        .iter()
        .map(Value::to_string)
        .collect();
    responses.sort();
    (answer[0]["error"].clone(), responses)
}

/// One client for each room, connected to the main namespace and in that room.
async fn in_rooms<const N: usize>(server: &TestServer, rooms: [&str; N]) -> [Sio; N] {
    let mut clients = Vec::new();
    for room in rooms {
        let (mut sio, _) = Sio::connect(server).await;
        sio.join_room(room).await;
        clients.push(sio);
    }
    clients
        .try_into()
        .unwrap_or_else(|_| unreachable!("one client a room"))
}

#[actix_web::test]
async fn a_room_broadcast_with_acks_collects_every_answer_or_times_out() {
    let server = spawn_quiet().await;
    let [mut a, mut b, mut c] = in_rooms(&server, ["r", "r", "other"]).await;

    // b waits for its own question (Socket::emit_with_ack) while the room is asked: the two
    // pending ids on b must differ.
    b.send(r#"42["ask"]"#).await;
    let own = ack_id_of(&b.recv_text().await, r#"["question","ping?"]"#);
    let started = std::time::Instant::now();
    a.send(r#"422["ask-room","r"]"#).await;
    let to_a = ack_id_of(&a.recv_text().await, r#"["question"]"#);
    let to_b = ack_id_of(&b.recv_text().await, r#"["question"]"#);
    assert_eq!(to_a, to_b, "one ack id for the whole broadcast");
    assert_ne!(
        own, to_b,
        "a broadcast ack id never collides with a socket's own"
    );
    assert!(c.silent_for(SILENCE).await, "outside the room");
    a.send(&format!(r#"43{to_a}["from a"]"#)).await;
    // Only the first ack argument is an answer, as in Socket.IO.
    b.send(&format!(r#"43{to_b}["from b",2]"#)).await;
    b.send(&format!(r#"43{own}["pong!"]"#)).await;
    assert_eq!(b.recv_text().await, r#"42["answer","pong!"]"#);
    let (error, responses) = ask_room_answer(&a.recv_text().await, 2);
    assert_eq!(error, Value::Null);
    assert_eq!(responses, [r#""from a""#, r#""from b""#]);
    assert!(
        started.elapsed() < Duration::from_millis(1_500),
        "complete once everyone answered, not at the timeout"
    );

    // b does not answer this time: the call ends at the timeout with a's answer.
    a.send(r#"423["ask-room","r",400]"#).await;
    let to_a = ack_id_of(&a.recv_text().await, r#"["question"]"#);
    ack_id_of(&b.recv_text().await, r#"["question"]"#);
    let started = std::time::Instant::now();
    a.send(&format!(r#"43{to_a}[]"#)).await;
    let (error, responses) = ask_room_answer(&a.recv_text().await, 3);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(error, "timeout");
    assert_eq!(responses, ["null"], "an ack without arguments answers null");
    server.stop().await;
}

#[actix_web::test]
async fn room_broadcasts_reach_the_room_but_not_the_sender_or_outsiders() {
    let server = spawn_quiet().await;
    let [mut a, mut b, mut c] = in_rooms(&server, ["r1", "r1", "r2"]).await;
    a.send(r#"42["broadcast","r1",{"hello":"world"}]"#).await;
    assert_eq!(b.recv_text().await, r#"42["msg",{"hello":"world"}]"#);
    assert!(a.silent_for(SILENCE).await, "the sender gets nothing");
    assert!(c.silent_for(SILENCE).await, "another room gets nothing");

    // Once b is gone, the room holds only a.
    b.send("41").await;
    c.send(r#"42["broadcast","r1","after"]"#).await;
    assert_eq!(a.recv_text().await, r#"42["msg","after"]"#);
    server.stop().await;
}

#[actix_web::test]
async fn a_client_can_leave_and_rejoin_a_namespace() {
    let server = spawn_quiet().await;
    let (mut sio, first) = Sio::connect(&server).await;
    sio.send("41").await;
    assert!(sio.silent_for(SILENCE).await, "no answer to a DISCONNECT");
    let second = sio.join_namespace("/", None).await;
    assert_ne!(first, second);
    assert_eq!(sio.recv_text().await, r#"42["auth",{}]"#);
    server.stop().await;
}

#[actix_web::test]
async fn a_server_disconnect_sends_disconnect_then_closes() {
    let (server, mut sio) = quiet_client().await;
    sio.send(r#"42["kick-me"]"#).await;
    assert_eq!(sio.recv_text().await, "41");
    sio.ws.expect_close().await;
    server.stop().await;
}

#[actix_web::test]
async fn an_ack_with_an_unknown_id_is_ignored() {
    let (server, mut sio) = quiet_client().await;
    sio.send("43999[1]").await;
    sio.send(r#"42["message","alive"]"#).await;
    assert_eq!(sio.recv_text().await, r#"42["message-back","alive"]"#);
    server.stop().await;
}

/// Each bad input closes the connection that sent it, and only that one.
#[actix_web::test]
async fn malformed_packets_close_their_connection_and_harm_no_other() {
    let server = spawn_quiet().await;
    let (mut bystander, _) = Sio::connect(&server).await;
    enum Bad {
        Text(&'static str),
        Binary,
        TextThenBinary(&'static str, &'static [u8]),
        TextThenText(&'static str, &'static str),
    }
    let cases = [
        ("unknown packet type", Bad::Text("4abc")),
        ("unknown packet type digit", Bad::Text("49")),
        ("empty Socket.IO packet", Bad::Text("4")),
        ("truncated JSON", Bad::Text(r#"42["message","#)),
        ("non-array EVENT", Bad::Text("42{}")),
        ("string EVENT", Bad::Text(r#"42"message""#)),
        ("empty EVENT array", Bad::Text("42[]")),
        ("non-string event name", Bad::Text(r#"42[{"a":1}]"#)),
        ("null event name", Bad::Text("42[null]")),
        ("reserved event name", Bad::Text(r#"42["disconnect"]"#)),
        (
            "letters as ack id",
            Bad::Text(r#"42abc["message-with-ack"]"#),
        ),
        (
            "ack id overflow",
            Bad::Text(r#"4299999999999999999999["message"]"#),
        ),
        ("number out of range", Bad::Text(r#"42["message",1e400]"#)),
        (
            "arguments nested past serde_json's limit",
            // Leaked once so that every case borrows `&'static str`; the test ends right after.
            Bad::Text(String::leak(format!(
                r#"42["message",{}{}]"#,
                "[".repeat(200),
                "]".repeat(200)
            ))),
        ),
        (
            "placeholder in a text EVENT",
            Bad::Text(r#"42["message",{"_placeholder":true,"num":0}]"#),
        ),
        (
            "placeholder in a text ACK",
            Bad::Text(r#"431[{"a":{"_placeholder":true}}]"#),
        ),
        ("ACK without id", Bad::Text(r#"43["x"]"#)),
        ("ACK with object", Bad::Text("431{}")),
        ("CONNECT with array", Bad::Text("40[1]")),
        ("DISCONNECT with data", Bad::Text(r#"41{"a":1}"#)),
        (
            "CONNECT_ERROR from a client",
            Bad::Text(r#"44{"message":"x"}"#),
        ),
        (
            "EVENT for a namespace not joined",
            Bad::Text(r#"42/custom,["message"]"#),
        ),
        ("ACK for a namespace not joined", Bad::Text("43/custom,1[]")),
        (
            "DISCONNECT from a namespace not joined",
            Bad::Text("41/custom,"),
        ),
        ("second CONNECT to a joined namespace", Bad::Text("40")),
        ("attachment count missing", Bad::Text(r#"45["message"]"#)),
        ("too many attachments", Bad::Text(r#"4100000-["message"]"#)),
        ("binary without a header", Bad::Binary),
        (
            "placeholder out of range",
            Bad::TextThenBinary(r#"451-["message",{"_placeholder":true,"num":4}]"#, &[1]),
        ),
        (
            "placeholder not an integer",
            Bad::TextThenBinary(r#"451-["message",{"_placeholder":true,"num":"0"}]"#, &[1]),
        ),
        (
            "text while attachments are collected",
            Bad::TextThenText(
                r#"451-["message",{"_placeholder":true,"num":0}]"#,
                r#"42["message"]"#,
            ),
        ),
    ];
    for (what, bad) in cases {
        let (mut sio, _) = Sio::connect(&server).await;
        match bad {
            Bad::Text(text) => sio.send(text).await,
            Bad::Binary => sio.ws.send_binary(&[1, 2, 3]).await,
            Bad::TextThenBinary(text, bytes) => {
                sio.send(text).await;
                sio.ws.send_binary(bytes).await;
            }
            Bad::TextThenText(first, second) => {
                sio.send(first).await;
                sio.send(second).await;
            }
        }
        let closed = tokio::time::timeout(WAIT, sio.ws.expect_close()).await;
        assert!(closed.is_ok(), "{what}: the connection must be closed");
    }
    bystander.send(r#"42["message","unharmed"]"#).await;
    assert_eq!(
        bystander.recv_text().await,
        r#"42["message-back","unharmed"]"#
    );
    assert_eq!(server.socket_io.registry().len(), 1);
    server.stop().await;
}

/// A raw WebSocket client that joins a room and then never reads: the server must drop it once its
/// bounded queue is full, instead of buffering without limit, and keep serving everyone else.
#[actix_web::test]
async fn a_websocket_client_that_stops_reading_is_dropped_as_a_slow_consumer() {
    let server = spawn_quiet_with(|engine| engine.max_queue = 16).await;
    let mut stalled = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let handshake = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n\
        Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    stalled.write_all(handshake.as_bytes()).await.unwrap();
    let mut head = vec![0u8; 1024];
    let read = stalled.read(&mut head).await.unwrap();
    assert!(String::from_utf8_lossy(&head[..read]).starts_with("HTTP/1.1 101"));
    for text in ["40", r#"421["join","stalled"]"#] {
        stalled.write_all(&masked_text_frame(text)).await.unwrap();
    }
    // Wait until the join landed; from here on the stalled client reads nothing.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (mut flooder, _) = Sio::connect(&server).await;
    let chunk = "x".repeat(64 * 1024);
    let mut dropped = false;
    for _ in 0..2_000 {
        flooder
            .send(&format!(r#"42["broadcast","stalled","{chunk}"]"#))
            .await;
        if server.socket_io.registry().len() == 1 {
            dropped = true;
            break;
        }
    }
    assert!(
        dropped,
        "the stalled session must be closed once its queue is full"
    );
    flooder.send(r#"421["message-with-ack","ok"]"#).await;
    assert_eq!(flooder.recv_text().await, r#"431["ok"]"#);
    server.stop().await;
}

/// A client-to-server WebSocket text frame (clients must mask).
fn masked_text_frame(text: &str) -> Vec<u8> {
    let payload = text.as_bytes();
    assert!(payload.len() < 126, "short frames only");
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// A server of our own, built with the handler API: a middleware that refuses bad tokens with data,
/// and an event broadcast to everyone but the sender.
async fn spawn_guarded() -> (u16, actix_web::dev::ServerHandle) {
    use actix::Actor;
    use agora::engineio::Engine;
    use agora::hub::{ChatServer, LocalAdapter};
    use agora::socketio::{ConnectError, Namespace, Payload, SocketIo};
    use std::sync::Arc;

    let hub = ChatServer::default().start();
    let io = SocketIo::builder(Arc::new(LocalAdapter::new(hub)))
        .namespace(
            Namespace::builder("/")
                .middleware(|socket| async move {
                    if socket.auth()["token"] == "secret" {
                        socket.insert_extension(String::from("alice"));
                        Ok(())
                    } else {
                        Err(ConnectError::new("not authorized")
                            .with_data(serde_json::json!({"code": "bad_token"})))
                    }
                })
                .on("shout", |socket, payload, _| {
                    let name = socket.extension::<String>().unwrap_or_default();
                    let mut payload: Payload = payload;
                    payload.args_mut().insert(0, name.into());
                    let _ = socket.broadcast().emit("shouted", payload);
                }),
        )
        .build();
    let engine = Engine::new(quiet_engine(), Arc::new(io));
    serve_socket_io(engine)
}

async fn open_on(port: u16) -> Sio {
    let mut ws = Ws::connect(&format!(
        "ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
    ))
    .await;
    ws.recv().await;
    Sio { ws }
}

#[actix_web::test]
async fn a_middleware_can_refuse_with_connect_error_data_and_tag_accepted_sockets() {
    let (port, handle) = spawn_guarded().await;
    let mut refused = open_on(port).await;
    refused.send(r#"40{"token":"wrong"}"#).await;
    assert_eq!(
        refused.recv_text().await,
        r#"44{"message":"not authorized","data":{"code":"bad_token"}}"#
    );
    // A refused socket may try again on the same connection.
    refused
        .join_namespace("/", Some(r#"{"token":"secret"}"#))
        .await;

    let mut a = open_on(port).await;
    a.join_namespace("/", Some(r#"{"token":"secret"}"#)).await;
    let mut b = open_on(port).await;
    b.join_namespace("/", Some(r#"{"token":"secret"}"#)).await;
    a.send(r#"42["shout","hi"]"#).await;
    assert_eq!(b.recv_text().await, r#"42["shouted","alice","hi"]"#);
    assert_eq!(refused.recv_text().await, r#"42["shouted","alice","hi"]"#);
    assert!(a.silent_for(SILENCE).await, "everyone but the sender");
    handle.stop(false).await;
}

/// A server-side disconnect that lands mid-upgrade waits for the upgrade, so the client (which
/// paused polling) still gets its DISCONNECT on the transport it ends up on.
#[actix_web::test]
async fn a_kick_during_an_upgrade_is_delivered_after_it() {
    let server = spawn_quiet().await;
    let session = Polling::open(&server.http("/socket.io/")).await;
    session.post("40").await;
    let (_, connected) = session.get().await;
    assert!(connected.starts_with("40"), "{connected}");
    let mut probe = Ws::connect(&server.ws(&format!(
        "/socket.io/?EIO=4&transport=websocket&sid={}",
        session.sid
    )))
    .await;
    probe.send_text("2probe").await;
    assert_eq!(probe.recv().await, WsFrame::Text("3probe".into()));
    session.post(r#"42["kick-me"]"#).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    probe.send_text("5").await;
    let mut texts = Vec::new();
    loop {
        match probe.recv().await {
            WsFrame::Text(text) => texts.push(text),
            WsFrame::Close(_) => break,
            WsFrame::Binary(_) => {}
        }
    }
    assert!(texts.iter().any(|t| t == "41"), "{texts:?}");
    server.stop().await;
}
