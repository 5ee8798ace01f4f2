//! The hub's state machine, through its plain methods.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::*;
use crate::engineio::{
    CloseReason, CloseSession, EngineConfig, EngineConnection, EngineHandler, EngineSession,
    Handshake, Message, Registry, Sid, TransportKind,
};

/// Hands out the `EngineSocket` of the session it opens.
#[derive(Default)]
struct Capture(Mutex<Option<EngineSocket>>);

struct Silent;

impl EngineConnection for Silent {
    fn on_message(&mut self, _: Message) {}
    fn on_close(&mut self, _: CloseReason) {}
}

impl EngineHandler for Capture {
    fn on_open(&self, socket: EngineSocket, _: Handshake) -> Box<dyn EngineConnection> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(socket);
        Box::new(Silent)
    }
}

/// A member whose session has stopped is ended by the sweep (its hook runs once and it
/// leaves its rooms); a member whose session runs is kept.
#[actix_rt::test]
async fn the_sweep_ends_members_whose_transport_closed() {
    let open_session = || async {
        let capture = Arc::new(Capture::default());
        let handshake = Handshake {
            sid: Sid::random(),
            headers: Default::default(),
            query: String::new(),
            peer: None,
            transport: TransportKind::Polling,
        };
        let addr = EngineSession::polling(
            Arc::new(EngineConfig::default()),
            Registry::default(),
            capture.clone(),
            handshake,
        )
        .start();
        // Let the actor start and open its connection.
        while capture
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
        {
            actix_rt::task::yield_now().await;
        }
        let socket = capture.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        (addr, socket.expect("the session opened"))
    };
    let (dead, dead_engine) = open_session().await;
    let (_live, live_engine) = open_session().await;
    let ended = Arc::new(AtomicUsize::new(0));
    let hook = |ended: &Arc<AtomicUsize>| {
        let ended = Arc::clone(ended);
        Orphaned::new(move || {
            ended.fetch_add(1, Ordering::SeqCst);
        })
    };
    let mut hub = ChatServer::default();
    let nsp: Arc<str> = "/".into();
    let (dead_id, live_id) = (Sid::random(), Sid::random());
    hub.connect(
        nsp.clone(),
        dead_id.clone(),
        dead_engine.clone(),
        PendingAcks::default(),
        hook(&ended),
    );
    hub.connect(
        nsp.clone(),
        live_id.clone(),
        live_engine,
        PendingAcks::default(),
        hook(&Arc::new(AtomicUsize::new(0))),
    );
    hub.join(&nsp, &dead_id, vec!["online\nghost".into()]);
    assert_eq!(hub.sweep_orphans(), 0, "both sessions still run");

    dead.do_send(CloseSession(CloseReason::PingTimeout));
    while dead_engine.is_open() {
        actix_rt::task::yield_now().await;
    }
    assert_eq!(hub.sweep_orphans(), 1);
    assert_eq!(
        ended.load(Ordering::SeqCst),
        1,
        "the orphan's disconnect ran"
    );
    assert_eq!(hub.sockets(&nsp, &[]), vec![live_id]);
    assert!(hub.rooms_named(&nsp, "online\n").is_empty());
    assert_eq!(hub.sweep_orphans(), 0, "ended once");
}
