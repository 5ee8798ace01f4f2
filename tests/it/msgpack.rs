//! The msgpack parser (`--parser msgpack`): the official socket.io-client with
//! socket.io-msgpack-parser (tests/interop/msgpack.mjs) over both transports, and malformed
//! MessagePack from a raw client, which ends that connection only.

use std::time::Duration;

use agora::socketio::msgpack::{read, write};
use agora::socketio::{Parser, SocketIoConfig};
use rmpv::Value as Msg;

use crate::common::*;

/// The scenario takes a second or two; this is the ceiling before the test fails.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

async fn spawn_msgpack() -> TestServer {
    spawn_conformance(
        quiet_engine(),
        SocketIoConfig {
            parser: Parser::Msgpack,
            ..SocketIoConfig::default()
        },
    )
    .await
}

async fn run_client(scenario: &str) {
    let server = spawn_msgpack().await;
    let base = server.http("");
    node::run_interop(
        "tests/interop/msgpack.mjs",
        scenario,
        base,
        SCENARIO_TIMEOUT,
    )
    .await;
    server.stop().await;
}

#[actix_web::test]
async fn the_official_client_with_the_msgpack_parser_over_websocket() {
    run_client("websocket").await;
}

#[actix_web::test]
async fn the_official_client_with_the_msgpack_parser_over_polling() {
    run_client("polling").await;
}

/// One Socket.IO packet as socket.io-msgpack-parser writes it.
fn packet(fields: Vec<(&str, Msg)>) -> Vec<u8> {
    write(&Msg::Map(
        fields
            .into_iter()
            .map(|(key, value)| (Msg::from(key), value))
            .collect(),
    ))
}

/// A raw WebSocket session joined to `/` under the msgpack parser.
async fn joined(server: &TestServer) -> Ws {
    let mut ws = Ws::connect(&server.ws("/socket.io/?EIO=4&transport=websocket")).await;
    assert!(matches!(ws.recv().await, WsFrame::Text(open) if open.starts_with('0')));
    ws.send_binary(&packet(vec![
        ("type", Msg::from(0)),
        ("nsp", Msg::from("/")),
    ]))
    .await;
    let WsFrame::Binary(reply) = ws.recv_data().await else {
        panic!("the CONNECT answer is one binary message");
    };
    let reply = read(&reply).expect("MessagePack");
    assert_eq!(reply["type"], Msg::from(0), "{reply}");
    assert!(reply["data"]["sid"].is_str(), "{reply}");
    // The conformance server greets every socket with `auth`.
    let WsFrame::Binary(greeting) = ws.recv_data().await else {
        panic!("the greeting is one binary message");
    };
    assert_eq!(read(&greeting).unwrap()["data"][0], Msg::from("auth"));
    ws
}

#[actix_web::test]
async fn malformed_msgpack_closes_that_connection_and_no_other() {
    let server = spawn_msgpack().await;
    let mut bystander = joined(&server).await;
    let bad_messages: Vec<Vec<u8>> = vec![
        vec![0xc1],                                                    // not MessagePack
        vec![0x93, 0x01],                                              // truncated
        packet(vec![("type", Msg::from(9)), ("nsp", Msg::from("/"))]), // unknown type
        packet(vec![("type", Msg::from(2)), ("nsp", Msg::from(7))]),   // namespace not a string
        packet(vec![
            ("type", Msg::from(2)),
            ("data", Msg::Array(vec![Msg::from("message")])),
            ("nsp", Msg::from("/")),
            ("id", Msg::from("one")),
        ]), // ack id not an integer
        std::iter::repeat_n(0x91, 5000).chain([0x01]).collect(), // nested deeper than JSON allows
    ];
    for bad in bad_messages {
        let mut ws = joined(&server).await;
        ws.send_binary(&bad).await;
        // Closed by the server (expect_close fails the test after a while otherwise).
        ws.expect_close().await;
    }
    // A text packet is not the msgpack parser's.
    let mut text = joined(&server).await;
    text.send_text(r#"42["message",1]"#).await;
    text.expect_close().await;

    // The bystander still talks.
    bystander
        .send_binary(&packet(vec![
            ("type", Msg::from(2)),
            (
                "data",
                Msg::Array(vec![Msg::from("message"), Msg::Binary(vec![7])]),
            ),
            ("nsp", Msg::from("/")),
        ]))
        .await;
    let WsFrame::Binary(echo) = bystander.recv_data().await else {
        panic!("the echo is one binary message");
    };
    assert_eq!(
        read(&echo).unwrap()["data"],
        Msg::Array(vec![Msg::from("message-back"), Msg::Binary(vec![7])])
    );
    server.stop().await;
}
