//! The session actor's state machine on long-polling, through its messages: the open packet, messages
//! handed to the connection, the client's close, a GET abandoned by the network, a second GET at
//! once, and a client that never reads.

use std::sync::Mutex;

use bytestring::ByteString;

use super::test_support::{polling_handshake, text, until};
use super::*;
use crate::engineio::types::{CloseSession, SendOptions};
use crate::engineio::{Message, Registry, SendError};

/// What the connection above the session saw.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Message(String),
    Closed(CloseReason),
}

/// Where an [`Opener`] keeps the last session's socket.
type SocketSlot = Arc<Mutex<Option<EngineSocket>>>;

/// Opens a [`Recorder`] for every session, sharing one log, and keeps the last session's socket.
#[derive(Default)]
struct Opener(Arc<Mutex<Vec<Seen>>>, SocketSlot);

struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl EngineHandler for Opener {
    fn on_open(&self, socket: EngineSocket, _: Handshake) -> Box<dyn EngineConnection> {
        *crate::sync::lock(&self.1) = Some(socket);
        Box::new(Recorder(Arc::clone(&self.0)))
    }
}

impl EngineConnection for Recorder {
    fn on_message(&mut self, message: Message) {
        let text = match message {
            Message::Text(text) => text.to_string(),
            Message::Binary(bytes) => format!("<{} bytes>", bytes.len()),
        };
        crate::sync::lock(&self.0).push(Seen::Message(text));
    }

    fn on_close(&mut self, reason: CloseReason) {
        crate::sync::lock(&self.0).push(Seen::Closed(reason));
    }
}

/// A polling session with `config`, and the log of what its connection saw.
fn start(config: EngineConfig) -> (Addr<EngineSession>, Arc<Mutex<Vec<Seen>>>) {
    let (addr, seen, _) = start_with_socket(config);
    (addr, seen)
}

/// [`start`], and the socket the layer above writes through (once the session has opened).
fn start_with_socket(
    config: EngineConfig,
) -> (Addr<EngineSession>, Arc<Mutex<Vec<Seen>>>, SocketSlot) {
    let opener = Arc::new(Opener::default());
    let seen = Arc::clone(&opener.0);
    let socket = Arc::clone(&opener.1);
    let handshake = polling_handshake();
    let addr =
        EngineSession::polling(Arc::new(config), Registry::default(), opener, handshake).start();
    (addr, seen, socket)
}

/// The socket of a session started with [`start_with_socket`], once it has opened.
async fn socket_of(socket: &SocketSlot) -> EngineSocket {
    until(|| crate::sync::lock(socket).clone()).await
}

/// Waits (yielding to the actor) until the log has an entry matching `wanted`.
async fn until_seen(seen: &Arc<Mutex<Vec<Seen>>>, wanted: &Seen) {
    for _ in 0..10_000 {
        if crate::sync::lock(seen).contains(wanted) {
            return;
        }
        actix_rt::task::yield_now().await;
    }
    panic!("never saw {wanted:?}: {:?}", crate::sync::lock(seen));
}

/// Answers a GET that has frames ready.
async fn poll_ready(session: &Addr<EngineSession>) -> Vec<Frame> {
    match session.send(Poll).await.expect("session runs") {
        Ok(PollReply::Ready(frames)) => frames,
        Ok(PollReply::Wait(_)) => panic!("the GET was held"),
        Err(error) => panic!("the GET was refused: {error}"),
    }
}

#[actix_rt::test]
async fn the_first_get_carries_the_open_packet_with_the_settings() {
    let (session, _) = start(EngineConfig::default());
    let frames = poll_ready(&session).await;
    assert_eq!(frames.len(), 1);
    let open = text(&frames[0]);
    assert!(open.starts_with("0{"), "{open}");
    let settings: serde_json::Value = serde_json::from_str(&open[1..]).expect("JSON");
    assert_eq!(settings["pingInterval"], 25_000);
    assert_eq!(settings["upgrades"], serde_json::json!(["websocket"]));
}

#[actix_rt::test]
async fn messages_reach_the_connection_and_a_close_packet_ends_it() {
    let (session, seen) = start(EngineConfig::default());
    poll_ready(&session).await;
    let hello = Packet::Message(Message::Text(ByteString::from_static("hello")));
    let answer = session.send(Incoming {
        from: POLLING,
        packets: vec![hello, Packet::Close],
    });
    assert!(answer.await.expect("session runs").is_ok());
    until_seen(&seen, &Seen::Closed(CloseReason::TransportClose)).await;
    assert_eq!(
        *crate::sync::lock(&seen),
        [
            Seen::Message("hello".into()),
            Seen::Closed(CloseReason::TransportClose)
        ]
    );
}

#[actix_rt::test]
async fn a_get_abandoned_by_the_network_closes_as_a_transport_error() {
    let (session, seen) = start(EngineConfig::default());
    poll_ready(&session).await;
    let held = session.send(Poll).await.expect("session runs");
    let Ok(PollReply::Wait(receiver)) = held else {
        panic!("an empty queue holds the GET");
    };
    drop(receiver);
    session.do_send(GetAbandoned);
    until_seen(&seen, &Seen::Closed(CloseReason::TransportError)).await;
}

#[actix_rt::test]
async fn an_answered_get_is_no_news_when_its_drop_guard_reports_late() {
    let (session, seen) = start(EngineConfig::default());
    poll_ready(&session).await;
    session.do_send(GetAbandoned);
    let hello = Packet::Message(Message::Text(ByteString::from_static("still here")));
    let answer = session.send(Incoming {
        from: POLLING,
        packets: vec![hello],
    });
    assert!(answer.await.expect("session runs").is_ok());
    until_seen(&seen, &Seen::Message("still here".into())).await;
    assert!(
        !crate::sync::lock(&seen)
            .iter()
            .any(|s| matches!(s, Seen::Closed(_))),
        "no GET was waiting, so nothing was abandoned"
    );
}

#[actix_rt::test]
async fn a_second_get_while_one_waits_is_refused_and_ends_the_session() {
    let (session, seen) = start(EngineConfig::default());
    poll_ready(&session).await;
    let _held = session.send(Poll).await.expect("session runs");
    let second = session.send(Poll).await.expect("session runs");
    assert!(matches!(second, Err(EngineError::BadRequest)));
    until_seen(&seen, &Seen::Closed(CloseReason::TransportError)).await;
}

#[actix_rt::test]
async fn a_client_that_never_reads_is_dropped_as_a_slow_consumer() {
    let config = EngineConfig {
        max_queue: 4,
        ..EngineConfig::default()
    };
    let (_session, seen, socket) = start_with_socket(config);
    let socket = socket_of(&socket).await;
    let sent: Vec<_> = (0..8).map(|_| socket.send_frame(Frame::noop())).collect();
    // The open packet and three frames fill the queue of four; the rest overflow.
    assert_eq!(sent[..3], [Ok(()), Ok(()), Ok(())]);
    assert_eq!(sent[3], Err(SendError::SlowConsumer));
    until_seen(&seen, &Seen::Closed(CloseReason::SlowConsumer)).await;
}

#[actix_rt::test]
async fn volatile_frames_go_only_to_a_waiting_get_and_never_overflow() {
    let config = EngineConfig {
        max_queue: 1,
        ..EngineConfig::default()
    };
    let (session, seen, socket) = start_with_socket(config);
    poll_ready(&session).await;
    let socket = socket_of(&socket).await;
    let volatile = SendOptions {
        volatile: true,
        ..SendOptions::default()
    };
    let frame = |text: &'static str| Frames::One(Frame::Text(ByteString::from_static(text)));
    // No GET waits: dropped, however many.
    for _ in 0..4 {
        assert_eq!(socket.send_with(frame("4dropped"), volatile), Ok(()));
    }
    assert_eq!(socket.send(frame("4kept")), Ok(()));
    let frames = poll_ready(&session).await;
    assert_eq!(frames.iter().map(text).collect::<Vec<_>>(), ["4kept"]);
    // A GET waits: delivered.
    let Ok(PollReply::Wait(receiver)) = session.send(Poll).await.expect("session runs") else {
        panic!("an empty queue holds the GET");
    };
    assert_eq!(socket.send_with(frame("4live"), volatile), Ok(()));
    let frames = receiver.await.expect("answered").expect("frames");
    assert_eq!(frames.iter().map(text).collect::<Vec<_>>(), ["4live"]);
    assert!(
        !crate::sync::lock(&seen)
            .iter()
            .any(|s| matches!(s, Seen::Closed(_))),
        "volatile frames never make a slow consumer"
    );
}

#[actix_rt::test]
async fn a_closed_session_refuses_frames_while_it_lingers_for_the_last_get() {
    let (session, seen, socket) = start_with_socket(EngineConfig::default());
    poll_ready(&session).await;
    let socket = socket_of(&socket).await;
    assert_eq!(socket.send_frame(Frame::noop()), Ok(()));
    session.do_send(CloseSession(CloseReason::ServerClose));
    until_seen(&seen, &Seen::Closed(CloseReason::ServerClose)).await;
    // The actor still runs, holding the last frames for the client's next GET...
    assert!(socket.is_open());
    // ...but a frame sent now would never reach the client: the sender is told so.
    assert_eq!(socket.send_frame(Frame::noop()), Err(SendError::Closed));
    let last = poll_ready(&session).await;
    assert_eq!(last.iter().map(text).collect::<Vec<_>>(), ["6", "1"]);
}
