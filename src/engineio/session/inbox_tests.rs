//! Frames sent to a session from other threads go through its worker's inbox
//! (`engineio/worker_inbox.rs`): they arrive, in order with the ones sent on the worker, and a
//! broadcast is one delivery per worker.
use super::test_support::TestSession;
use crate::engineio::packet::Frame;
use crate::engineio::socket::EngineSocket;
use crate::engineio::types::{Frames, SendOptions};
use crate::engineio::worker_inbox::{Fanout, InboxTarget, MAX_PENDING_DELIVERIES};
use crate::engineio::{CloseReason, SendError};

fn frame(text: &'static str) -> Frames {
    Frames::One(Frame::Text(bytestring::ByteString::from_static(text)))
}

/// Sends `text` to the session from another thread, which has ended when this returns.
fn send_from_afar(socket: &EngineSocket, text: &'static str) {
    let socket = socket.clone();
    std::thread::spawn(move || socket.send(frame(text)))
        .join()
        .expect("the sending thread")
        .expect("the inbox takes it");
}

#[actix_rt::test]
async fn frames_from_another_thread_reach_the_session_through_its_worker() {
    let session = TestSession::open().await;
    assert!(
        session.socket.inbox().is_current(),
        "the test runs on the session's worker"
    );
    send_from_afar(&session.socket, "far");
    assert_eq!(session.frames().await, ["far"]);
}

#[actix_rt::test]
async fn a_frame_sent_here_never_overtakes_one_sent_from_afar_before_it() {
    let session = TestSession::open().await;
    // No await between the two: the drain task has not run when the local send comes.
    send_from_afar(&session.socket, "first");
    session.socket.send(frame("second")).expect("sent");
    assert_eq!(session.frames().await, ["first", "second"]);
}

#[actix_rt::test]
async fn a_broadcast_reaches_each_session_of_the_worker_once_in_one_delivery() {
    let (a, b) = (TestSession::open().await, TestSession::open().await);
    let (sa, sb) = (a.socket.clone(), b.socket.clone());
    std::thread::spawn(move || {
        let mut fanout = Fanout::new(frame("all"), SendOptions::default());
        fanout.add(&sa);
        fanout.add(&sb);
        assert_eq!(fanout.workers(), 1, "one delivery for the one worker");
        fanout.finish();
    })
    .join()
    .expect("the broadcasting thread");
    assert_eq!(a.frames().await, ["all"]);
    assert_eq!(b.frames().await, ["all"]);
}

#[actix_rt::test]
async fn a_worker_too_far_behind_refuses_more_and_closes_the_session_as_a_slow_consumer() {
    let session = TestSession::open().await;
    let socket = session.socket.clone();
    // The worker (this thread) is blocked in `join`: nothing is drained meanwhile.
    let answers = std::thread::spawn(move || {
        let taken = (0..MAX_PENDING_DELIVERIES)
            .filter(|_| socket.send(frame("flood")).is_ok())
            .count();
        (taken, socket.send(frame("one too many")))
    })
    .join()
    .expect("the flooding thread");
    assert_eq!(
        answers.0, MAX_PENDING_DELIVERIES,
        "the inbox takes up to its bound"
    );
    assert_eq!(answers.1, Err(SendError::SlowConsumer));
    assert_eq!(session.closed().await, CloseReason::SlowConsumer);
}
