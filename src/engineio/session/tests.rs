//! The session actor's state machine on long-polling, through its messages: the open packet, messages
//! handed to the connection, the client's close, a GET abandoned by the network, a second GET at
//! once, and a client that never reads.

use std::sync::Mutex;

use bytestring::ByteString;

use super::*;
use crate::engineio::types::Outgoing;
use crate::engineio::{Message, Registry};

/// What the connection above the session saw.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Message(String),
    Closed(CloseReason),
}

/// Opens a [`Recorder`] for every session, sharing one log.
#[derive(Default)]
struct Opener(Arc<Mutex<Vec<Seen>>>);

struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl EngineHandler for Opener {
    fn on_open(&self, _: EngineSocket, _: Handshake) -> Box<dyn EngineConnection> {
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
    let opener = Arc::new(Opener::default());
    let seen = Arc::clone(&opener.0);
    let handshake = Handshake {
        sid: Sid::random(),
        headers: Default::default(),
        path: "/socket.io/".into(),
        query: String::new(),
        secure: false,
        peer: None,
        transport: TransportKind::Polling,
    };
    let addr =
        EngineSession::polling(Arc::new(config), Registry::default(), opener, handshake).start();
    (addr, seen)
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

fn text(frame: &Frame) -> String {
    match frame {
        Frame::Text(text) => text.to_string(),
        Frame::Binary(bytes) => format!("<{} bytes>", bytes.len()),
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
    let (session, seen) = start(config);
    for _ in 0..8 {
        session.do_send(Outgoing(Frames::One(Frame::noop())));
    }
    until_seen(&seen, &Seen::Closed(CloseReason::SlowConsumer)).await;
}
