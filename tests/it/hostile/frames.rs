//! WebSocket frames that break RFC 6455, sent to an Engine.IO session: each closes that socket
//! with the code the RFC gives, and a bystander's session carries on. And a flood of valid frames
//! in one write: all handled, the bystander not held up.

use crate::common::raw_ws::*;
use crate::common::*;

const SESSION: &str = "/engine.io/?EIO=4&transport=websocket";

async fn session(server: &TestServer) -> RawWs {
    let mut ws = RawWs::connect(server.port, SESSION, None).await;
    assert_eq!(
        ws.recv().await.payload.first(),
        Some(&b'0'),
        "the open packet"
    );
    ws
}

#[actix_web::test]
async fn malformed_frames_close_with_the_rfc_codes_and_harm_no_one_else() {
    let server = spawn_quiet().await;
    let mut bystander = session(&server).await;
    // An unmasked text frame "4hi".
    let unmasked = [0x81, 0x03, b'4', b'h', b'i'];
    let mut ws = session(&server).await;
    ws.send_raw(&unmasked).await;
    assert_eq!(ws.recv_data().await.close_code(), Some(1002), "unmasked");
    for (first, payload, code, what) in [
        (0x83, &b""[..], 1002, "reserved opcode"),
        (0xA1, b"4x", 1002, "RSV2"),
        (0x09, b"", 1002, "fragmented ping"),
        (0x80, b"4x", 1002, "continuation of nothing"),
        (TEXT, b"4\xFF\xFE", 1007, "text that is not UTF-8"),
        (0x88, b"\x03", 1002, "close frame of one byte"),
    ] {
        let mut ws = session(&server).await;
        ws.send(first, payload).await;
        assert_eq!(ws.recv_data().await.close_code(), Some(code), "{what}");
    }
    // A header announcing 2 GB: refused before any of it arrives.
    let mut ws = session(&server).await;
    ws.send_raw(&[0x82, 0xFF, 0, 0, 0, 0, 0x80, 0, 0, 0, 1, 2, 3, 4])
        .await;
    assert_eq!(
        ws.recv_data().await.close_code(),
        Some(1009),
        "oversize header"
    );

    bystander.send(TEXT, b"4still here").await;
    assert_eq!(bystander.recv_data().await.payload, b"4still here");
    server.stop().await;
}

#[actix_web::test]
async fn a_thousand_messages_in_one_write_are_all_handled_and_others_keep_their_turn() {
    // The connection hands its actor at most MESSAGES_PER_TURN (128) messages a turn, then yields
    // to the other sockets of its worker and must come back for the rest by itself: they are
    // already read, so no readiness from the socket wakes it, and events nobody handles write
    // nothing that would. Only the last one is answered.
    let server = spawn_quiet().await;
    let mut bystander = session(&server).await;
    let mut flooder =
        RawWs::connect(server.port, "/socket.io/?EIO=4&transport=websocket", None).await;
    assert_eq!(
        flooder.recv().await.payload.first(),
        Some(&b'0'),
        "the open packet"
    );
    flooder.send(TEXT, b"40").await;
    assert!(
        flooder.recv_data().await.payload.starts_with(b"40{"),
        "the CONNECT answer"
    );
    let mut burst: Vec<u8> = (0..1_000)
        .flat_map(|i| masked_frame(TEXT, format!(r#"42["nobody-listens",{i}]"#).as_bytes()))
        .collect();
    burst.extend(masked_frame(TEXT, br#"427["message-with-ack","last"]"#));
    flooder.send_raw(&burst).await;
    bystander.send(TEXT, b"4still here").await;
    assert_eq!(bystander.recv_data().await.payload, b"4still here");
    // The conformance server greets with events of its own; the ack is what counts.
    let ack = loop {
        let frame = flooder.recv_data().await;
        if frame.payload.starts_with(b"43") {
            break frame.payload;
        }
    };
    assert_eq!(ack, br#"437["last"]"#);
}
