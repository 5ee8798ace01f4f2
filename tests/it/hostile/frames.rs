//! WebSocket frames that break RFC 6455, sent to an Engine.IO session: each closes that socket
//! with the code the RFC gives, and a bystander's session carries on. And a flood of valid frames
//! in one write: all handled, the bystander not held up. And a frame trickled a byte at a time
//! beside another client's messages: it arrives whole.

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

#[actix_web::test]
async fn a_frame_sent_a_byte_at_a_time_beside_another_client_arrives_whole() {
    // Each byte is a short read, after which the connection waits for the socket's next wake
    // rather than reading again: a lost wake would leave the frame unanswered. The two sessions
    // share the server's one worker and the read buffer it lends between messages; the other
    // client's messages go through that buffer while the first frame is half read.
    let server = spawn_quiet().await;
    let mut trickler = session(&server).await;
    let mut other = session(&server).await;
    let frame = masked_frame(TEXT, b"4sent a byte at a time");
    let (first, rest) = frame.split_at(3);
    trickler.send_raw(first).await;
    for (i, byte) in rest.iter().enumerate() {
        trickler.send_raw(std::slice::from_ref(byte)).await;
        if i % 4 == 0 {
            let text = format!("4other {i}");
            other.send(TEXT, text.as_bytes()).await;
            assert_eq!(other.recv_data().await.payload, text.as_bytes());
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }
    assert_eq!(
        trickler.recv_data().await.payload,
        b"4sent a byte at a time"
    );
    server.stop().await;
}
