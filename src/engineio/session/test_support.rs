//! Test support for the unit tests of this layer and the ones above: a real long-polling session
//! actor to write to, whose queued frames a test reads back as a GET would, and whose close reason
//! it can wait for.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;

use super::{EngineSession, Poll, PollReply, Registry};
use crate::engineio::{
    CloseReason, EngineConfig, EngineConnection, EngineHandler, EngineSocket, Frame, Handshake,
    Message, Sid, TransportKind,
};

/// How long a test waits for a session to do something before it fails.
const WAIT: Duration = Duration::from_secs(5);

/// The handshake of a client's first polling GET, without headers or query.
pub(crate) fn polling_handshake() -> Handshake {
    Handshake {
        sid: Sid::random(),
        headers: Default::default(),
        path: "/socket.io/".into(),
        query: String::new(),
        secure: false,
        peer: None,
        transport: TransportKind::Polling,
    }
}

/// What the session's own connection saw: its handle, then its close.
#[derive(Default)]
struct Seen {
    socket: Option<EngineSocket>,
    closed: Option<CloseReason>,
}

/// Opens a [`Witness`] as the session's connection.
#[derive(Default)]
struct Opener(Arc<Mutex<Seen>>);

/// Ignores messages and records the close.
struct Witness(Arc<Mutex<Seen>>);

impl EngineHandler for Opener {
    fn on_open(&self, socket: EngineSocket, _: Handshake) -> Box<dyn EngineConnection> {
        crate::sync::lock(&self.0).socket = Some(socket);
        Box::new(Witness(Arc::clone(&self.0)))
    }
}

impl EngineConnection for Witness {
    fn on_message(&mut self, _: Message) {}

    fn on_close(&mut self, reason: CloseReason) {
        crate::sync::lock(&self.0).closed = Some(reason);
    }
}

/// A running long-polling session with default settings, its open packet already read.
pub(crate) struct TestSession {
    /// The session actor; it runs while this is held.
    pub(crate) addr: Addr<EngineSession>,
    /// The handle the layer above writes through.
    pub(crate) socket: EngineSocket,
    seen: Arc<Mutex<Seen>>,
}

impl TestSession {
    /// Starts the session and reads its open packet.
    pub(crate) async fn open() -> TestSession {
        let opener = Arc::new(Opener::default());
        let seen = Arc::clone(&opener.0);
        let addr = EngineSession::polling(
            Arc::new(EngineConfig::default()),
            Registry::default(),
            opener,
            polling_handshake(),
        )
        .start();
        let session = TestSession {
            socket: until(|| crate::sync::lock(&seen).socket.clone()).await,
            addr,
            seen,
        };
        let open = session.frames().await;
        assert!(open[0].starts_with('0'), "the open packet first: {open:?}");
        session
    }

    /// The frames queued for the client, as text (binary ones as `<N bytes>`), waiting for at least
    /// one as a long poll does; fails after a few seconds without any.
    pub(crate) async fn frames(&self) -> Vec<String> {
        let reply = self.addr.send(Poll).await.expect("the session runs");
        let frames = match reply.expect("the GET is answered") {
            PollReply::Ready(frames) => frames,
            PollReply::Wait(receiver) => tokio::time::timeout(WAIT, receiver)
                .await
                .expect("frames within the wait")
                .expect("the session answers the GET")
                .expect("the GET is answered"),
        };
        frames.iter().map(text).collect()
    }

    /// Waits until the session has closed; its reason.
    pub(crate) async fn closed(&self) -> CloseReason {
        until(|| crate::sync::lock(&self.seen).closed).await
    }

    /// The close reason, if the session has closed by now.
    pub(crate) fn closed_yet(&self) -> Option<CloseReason> {
        crate::sync::lock(&self.seen).closed
    }
}

/// Yields to the actors until `ready` gives a value; fails after a few seconds.
pub(crate) async fn until<T>(mut ready: impl FnMut() -> Option<T>) -> T {
    let waiting = async {
        loop {
            if let Some(value) = ready() {
                return value;
            }
            actix_rt::task::yield_now().await;
        }
    };
    tokio::time::timeout(WAIT, waiting)
        .await
        .expect("the awaited state within the wait")
}

/// A frame as text; a binary one as `<N bytes>`.
pub(crate) fn text(frame: &Frame) -> String {
    match frame {
        Frame::Text(text) => text.to_string(),
        Frame::Binary(bytes) => format!("<{} bytes>", bytes.len()),
    }
}
