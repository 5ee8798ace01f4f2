//! The hub's state machine, through its plain methods: which sockets a broadcast reaches (read
//! from the broadcast acks each socket was told to expect), dropped sockets coming back with or
//! without their rooms, the configured cap on kept sockets, disconnecting by room, and the sweep.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::engineio::test_support::TestSession;
use crate::engineio::{CloseReason, CloseSession, Sid};
use crate::socketio::{next_ack_id, Payload};

/// Long enough that nothing kept expires during a test.
const KEEP: Duration = Duration::from_secs(60);

/// Details whose handshake names the socket.
fn details(name: &str) -> Arc<SocketDetails> {
    SocketDetails::from_parts(serde_json::json!({ "name": name }), serde_json::json!({}))
}

/// A socket of the tests: its id is its name.
struct Peer {
    id: SocketId,
    engine: EngineSocket,
    acks: PendingAcks,
    /// Keeps the session running.
    _session: TestSession,
}

impl Peer {
    async fn new(name: &str) -> Peer {
        let session = TestSession::open().await;
        Peer {
            id: SocketId::from(name),
            engine: session.socket.clone(),
            acks: PendingAcks::default(),
            _session: session,
        }
    }

    fn connect(&self, hub: &mut ChatServer, rooms: &[&str]) {
        self.connect_with(hub, rooms, SocketHooks::default());
    }

    fn connect_with(&self, hub: &mut ChatServer, rooms: &[&str], hooks: SocketHooks) {
        hub.connect(
            nsp(),
            NewSocket {
                id: self.id.clone(),
                engine: self.engine.clone(),
                acks: self.acks.clone(),
                orphaned: Orphaned::new(|| {}),
                details: details(self.id.as_str()),
                hooks,
                pid: None,
            },
        );
        hub.join(
            &nsp(),
            &self.id,
            rooms.iter().map(|r| Room::from(*r)).collect(),
        );
    }

    /// Comes back after a drop, having last got `offset`; answers whether it recovered.
    fn restore(&self, hub: &mut ChatServer, offset: Option<&str>) -> bool {
        hub.restore(
            nsp(),
            RestoreRequest {
                id: self.id.clone(),
                engine: self.engine.clone(),
                offset: offset.map(str::to_owned),
                recovered_reply: frames(),
                fresh_reply: frames(),
                acks: self.acks.clone(),
                orphaned: Orphaned::new(|| {}),
                details: details(self.id.as_str()),
                hooks: SocketHooks::default(),
                pids: (String::new(), String::new()),
                rooms: None,
                logged: Vec::new(),
            },
        )
    }
}

fn nsp() -> Arc<str> {
    "/".into()
}

fn frames() -> Arc<[Frame]> {
    vec![Frame::text_message("2[\"news\"]")].into()
}

fn rooms(names: &[&str]) -> Vec<Room> {
    names.iter().map(|r| Room::from(*r)).collect()
}

fn to(names: &[&str]) -> BroadcastOptions {
    BroadcastOptions {
        rooms: rooms(names),
        ..BroadcastOptions::default()
    }
}

/// The names of the peers a broadcast with `options` reaches, in the order of `peers`.
fn reached(hub: &mut ChatServer, options: &BroadcastOptions, peers: &[&Peer]) -> Vec<String> {
    let ack_id = next_ack_id();
    let (reports, _received) = tokio::sync::mpsc::unbounded_channel();
    let count = hub.broadcast_with_ack(&nsp(), &frames(), options, ack_id, &reports);
    let names: Vec<String> = peers
        .iter()
        .filter(|peer| peer.acks.resolve(ack_id, Payload::empty()))
        .map(|peer| peer.id.to_string())
        .collect();
    assert_eq!(count, names.len(), "the count is the sockets reached");
    names
}

/// Logs a packet with recovery offset `offset` for the sockets in `names`.
fn logged(hub: &mut ChatServer, offset: &str, names: &[&str]) {
    let options = BroadcastOptions {
        offset: Some(offset.into()),
        ..to(names)
    };
    hub.broadcast(&nsp(), &frames(), &options);
}

fn recovery(max_sessions: usize) -> ChatServer {
    ChatServer::with_recovery(RecoveryConfig {
        max_disconnection: KEEP,
        max_sessions,
    })
}

fn sorted(mut ids: Vec<SocketId>) -> Vec<String> {
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    ids.iter().map(ToString::to_string).collect()
}

/// A hub with `a` in room r, `b` in r and q, `c` in none.
async fn three_peers() -> (ChatServer, [Peer; 3]) {
    let peers = [
        Peer::new("a").await,
        Peer::new("b").await,
        Peer::new("c").await,
    ];
    let mut hub = ChatServer::default();
    for (peer, rooms) in peers.iter().zip([&["r"][..], &["r", "q"], &[]]) {
        peer.connect(&mut hub, rooms);
    }
    (hub, peers)
}

#[actix_rt::test]
async fn fetch_and_move_select_as_broadcasts_do() {
    // The peers keep their sessions running.
    let (mut hub, _peers) = three_peers().await;
    let except_q = BroadcastOptions {
        except_rooms: rooms(&["q"]),
        ..to(&["r"])
    };
    let fetched = hub.fetch(&nsp(), &except_q);
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].id.as_str(), "a");
    assert_eq!(
        fetched[0].rooms,
        rooms(&["a", "r"]),
        "its id room listed first"
    );
    assert_eq!(fetched[0].handshake, serde_json::json!({"name": "a"}));
    hub.move_sockets(&nsp(), &to(&["q", "c"]), &rooms(&["new"]), true);
    assert_eq!(sorted(hub.sockets(&nsp(), &rooms(&["new"]))), ["b", "c"]);
    hub.move_sockets(&nsp(), &to(&[]), &rooms(&["new", "r"]), false);
    assert!(hub.sockets(&nsp(), &rooms(&["new"])).is_empty());
    assert!(hub.sockets(&nsp(), &rooms(&["r"])).is_empty());
}

#[actix_rt::test]
async fn broadcasts_reach_rooms_minus_excepted_rooms_and_the_sender() {
    let (mut hub, [a, b, c]) = three_peers().await;
    let all = [&a, &b, &c];

    assert_eq!(reached(&mut hub, &to(&[]), &all), ["a", "b", "c"]);
    assert_eq!(reached(&mut hub, &to(&["r"]), &all), ["a", "b"]);
    assert_eq!(
        reached(&mut hub, &to(&["r", "q"]), &all),
        ["a", "b"],
        "once each"
    );
    assert_eq!(
        reached(&mut hub, &to(&["c"]), &all),
        ["c"],
        "a socket id is a room"
    );
    let except_q = BroadcastOptions {
        except_rooms: rooms(&["q"]),
        ..to(&["r"])
    };
    assert_eq!(reached(&mut hub, &except_q, &all), ["a"]);
    let but_the_sender = BroadcastOptions {
        except: Some(a.id.clone()),
        ..to(&[])
    };
    assert_eq!(reached(&mut hub, &but_the_sender, &all), ["b", "c"]);

    assert_eq!(hub.room_count(), 2);
    assert_eq!(hub.rooms_named(&nsp(), "q"), rooms(&["q"]));
    assert_eq!(
        sorted(hub.sockets(&nsp(), &rooms(&["r", "c"]))),
        ["a", "b", "c"]
    );
    hub.leave(&nsp(), &b.id, rooms(&["r", "q"]));
    assert_eq!(reached(&mut hub, &to(&["r"]), &all), ["a"]);
    assert_eq!(hub.room_count(), 1, "an empty room is gone");
    assert_eq!(
        hub.disconnect(&nsp(), &a.id),
        rooms(&["r"]).into_iter().collect()
    );
    assert_eq!(hub.room_count(), 0);
    assert_eq!(reached(&mut hub, &to(&[]), &all), ["b", "c"]);
}

#[actix_rt::test]
async fn a_dropped_socket_comes_back_to_its_rooms_only_from_a_known_offset() {
    let (a, b) = (Peer::new("a").await, Peer::new("b").await);
    let mut hub = recovery(10);
    a.connect(&mut hub, &["r"]);
    b.connect(&mut hub, &["r"]);
    logged(&mut hub, "o1", &["r"]);

    hub.detach(&nsp(), &a.id, KEEP);
    assert_eq!(
        reached(&mut hub, &to(&["r"]), &[&a, &b]),
        ["b"],
        "a dropped out"
    );
    logged(&mut hub, "o2", &["r"]);
    assert!(a.restore(&mut hub, Some("o1")), "o1 is known");
    assert_eq!(
        reached(&mut hub, &to(&["r"]), &[&a, &b]),
        ["a", "b"],
        "back in r"
    );

    hub.detach(&nsp(), &a.id, KEEP);
    assert!(!a.restore(&mut hub, Some("never logged")));
    assert_eq!(
        reached(&mut hub, &to(&["r"]), &[&a, &b]),
        ["b"],
        "a fresh socket"
    );
    assert_eq!(
        reached(&mut hub, &to(&[]), &[&a, &b]),
        ["a", "b"],
        "but connected"
    );
    assert!(
        !a.restore(&mut hub, Some("o1")),
        "its rooms were taken once"
    );

    hub.detach(&nsp(), &a.id, KEEP);
    assert!(!a.restore(&mut hub, None), "no offset, no promise");
}

#[actix_rt::test]
async fn without_recovery_a_dropped_socket_is_forgotten() {
    let a = Peer::new("a").await;
    let mut hub = ChatServer::default();
    a.connect(&mut hub, &["r"]);
    logged(&mut hub, "o1", &["r"]);
    hub.detach(&nsp(), &a.id, KEEP);
    assert_eq!(hub.room_count(), 0);
    assert!(!a.restore(&mut hub, Some("o1")));
}

#[actix_rt::test]
async fn the_configured_cap_on_kept_sockets_holds() {
    let peers = [
        Peer::new("a").await,
        Peer::new("b").await,
        Peer::new("c").await,
    ];
    let mut hub = recovery(2);
    for peer in &peers {
        peer.connect(&mut hub, &["r"]);
    }
    logged(&mut hub, "o1", &["r"]);
    for peer in &peers {
        hub.detach(&nsp(), &peer.id, KEEP);
    }
    let [a, b, c] = &peers;
    assert!(!a.restore(&mut hub, Some("o1")), "the oldest gave way");
    assert!(b.restore(&mut hub, Some("o1")));
    assert!(c.restore(&mut hub, Some("o1")));
}

#[actix_rt::test]
async fn disconnecting_a_room_ends_its_live_sockets_and_forgets_its_kept_ones() {
    let (a, b, c, d) = (
        Peer::new("a").await,
        Peer::new("b").await,
        Peer::new("c").await,
        Peer::new("d").await,
    );
    let mut hub = recovery(10);
    a.connect(&mut hub, &["r"]);
    b.connect(&mut hub, &["r", "q"]);
    c.connect(&mut hub, &[]);
    d.connect(&mut hub, &["r"]);
    logged(&mut hub, "o1", &[]);
    hub.detach(&nsp(), &d.id, KEEP);

    let except_q = BroadcastOptions {
        except_rooms: rooms(&["q"]),
        ..to(&["r"])
    };
    hub.disconnect_sockets("/other", &to(&[]), false);
    assert_eq!(
        sorted(hub.sockets(&nsp(), &[])),
        ["a", "b", "c"],
        "another namespace's"
    );
    assert_eq!(hub.disconnect_sockets(&nsp(), &except_q, false), 1);
    assert_eq!(sorted(hub.sockets(&nsp(), &[])), ["b", "c"]);
    assert!(!d.restore(&mut hub, Some("o1")), "d was in r: forgotten");

    assert_eq!(hub.disconnect_sockets(&nsp(), &to(&["q"]), true), 1);
    while b.engine.is_open() {
        actix_rt::task::yield_now().await;
    }
    assert!(c.engine.is_open(), "c was not in q");
}

/// A member whose session has stopped is ended by the sweep (its hook runs once and it
/// leaves its rooms); a member whose session runs is kept.
#[actix_rt::test]
async fn the_sweep_ends_members_whose_transport_closed() {
    let (dead, live) = (TestSession::open().await, TestSession::open().await);
    let (dead_engine, live_engine) = (dead.socket.clone(), live.socket.clone());
    let ended = Arc::new(AtomicUsize::new(0));
    let hook = |ended: &Arc<AtomicUsize>| {
        let ended = Arc::clone(ended);
        Orphaned::new(move || {
            ended.fetch_add(1, Ordering::SeqCst);
        })
    };
    let mut hub = ChatServer::default();
    let nsp = nsp();
    let (dead_id, live_id) = (Sid::random(), Sid::random());
    hub.connect(
        nsp.clone(),
        NewSocket {
            id: dead_id.clone(),
            engine: dead_engine.clone(),
            acks: PendingAcks::default(),
            orphaned: hook(&ended),
            details: details("dead"),
            hooks: SocketHooks::default(),
            pid: None,
        },
    );
    hub.connect(
        nsp.clone(),
        NewSocket {
            id: live_id.clone(),
            engine: live_engine,
            acks: PendingAcks::default(),
            orphaned: hook(&Arc::new(AtomicUsize::new(0))),
            details: details("live"),
            hooks: SocketHooks::default(),
            pid: None,
        },
    );
    hub.join(&nsp, &dead_id, vec!["online\nghost".into()]);
    assert_eq!(hub.sweep_orphans(), 0, "both sessions still run");

    dead.addr.do_send(CloseSession(CloseReason::PingTimeout));
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

/// The outgoing hook of each recipient sees a broadcast (with an ack or not), others' does not;
/// and a DISCONNECT from `disconnect_sockets` is no event for it. The rooms hook sees the rooms
/// moved by `move_sockets` and those a recovered socket gets back.
#[actix_rt::test]
async fn hooks_see_broadcasts_to_their_socket_and_rooms_the_hub_moves() {
    let (a, b) = (Peer::new("a").await, Peer::new("b").await);
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let hooks = |name: &'static str| {
        let (sent, moved) = (Arc::clone(&seen), Arc::clone(&seen));
        SocketHooks {
            outgoing: Some(Arc::new(move |frames: &SentFrames<'_>| {
                let event = frames
                    .event(Parser::Default)
                    .map(|(event, _)| event.to_owned());
                crate::sync::lock(&sent).push(format!("{name} got {event:?}"));
            })),
            rooms: Some(Arc::new(move |rooms: &[Room], join: bool| {
                let names: Vec<&str> = rooms.iter().map(|r| &**r).collect();
                crate::sync::lock(&moved).push(format!("{name} {join} {names:?}"));
            })),
        }
    };
    let mut hub = recovery(10);
    a.connect_with(&mut hub, &["r"], hooks("a"));
    b.connect_with(&mut hub, &["q"], hooks("b"));
    let take = || std::mem::take(&mut *crate::sync::lock(&seen));

    hub.broadcast(&nsp(), &frames(), &to(&["r"]));
    assert_eq!(take(), [r#"a got Some("news")"#]);
    assert_eq!(reached(&mut hub, &to(&["q"]), &[&a, &b]), ["b"]);
    assert_eq!(take(), [r#"b got Some("news")"#]);

    hub.move_sockets(&nsp(), &to(&["q"]), &rooms(&["new"]), true);
    assert_eq!(take(), [r#"b true ["new"]"#]);
    hub.move_sockets(&nsp(), &to(&["new"]), &rooms(&["new"]), false);
    assert_eq!(take(), [r#"b false ["new"]"#]);

    logged(&mut hub, "o1", &["q"]);
    hub.detach(&nsp(), &a.id, KEEP);
    logged(&mut hub, "o2", &["r"]);
    take();
    let mut returning = hooks("a");
    returning.outgoing = None;
    let restored = hub.restore(
        nsp(),
        RestoreRequest {
            id: a.id.clone(),
            engine: a.engine.clone(),
            offset: Some("o1".into()),
            recovered_reply: frames(),
            fresh_reply: frames(),
            acks: a.acks.clone(),
            orphaned: Orphaned::new(|| {}),
            details: details("a"),
            hooks: returning,
            pids: (String::new(), String::new()),
            rooms: None,
            logged: Vec::new(),
        },
    );
    assert!(restored, "o1 is known");
    assert_eq!(take(), [r#"a true ["r"]"#], "its rooms are back");

    hub.disconnect_sockets(&nsp(), &to(&["q"]), true);
    assert!(take().is_empty(), "a DISCONNECT is not an event");
}
