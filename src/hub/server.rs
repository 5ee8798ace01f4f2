//! The `ChatServer` actor's state: which sockets are connected, and which rooms they are in.
//!
//! Plain methods here; the messages that call them are in `messages.rs`, one thin handler each.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::recovery_log::RecoveryLog;
use crate::accounts::Identity;
use crate::engineio::{CloseReason, EngineSocket, Frame, Frames};
use crate::socketio::packet::Packet;
use crate::socketio::{
    AckReport, BroadcastOptions, Orphaned, PendingAcks, RestoreRequest, Room, SocketId,
};

/// Why the hub refused a trade request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeRefusal {
    /// Guests have no items to trade.
    Unauthenticated,
    /// The sender named themself as the recipient.
    SelfTrade,
}

/// How often the hub looks for members whose transport has closed while they are still
/// registered, and ends them. A defence in depth (each connection ends its own sockets), so
/// it runs rarely: one pass costs an atomic load per member, not per delivery.
pub const ORPHAN_SWEEP_INTERVAL: Duration = Duration::from_secs(10);

/// The central hub every session reports to. It owns the rooms and delivers broadcasts.
#[derive(Default)]
pub struct ChatServer {
    namespaces: HashMap<Arc<str>, Rooms>,
    /// How long packets are logged for connection state recovery; no log when `None`.
    recovery_window: Option<Duration>,
}

/// The rooms of one namespace.
#[derive(Default)]
struct Rooms {
    members: HashMap<SocketId, Member>,
    rooms: HashMap<Room, HashSet<SocketId>>,
    log: Option<RecoveryLog>,
}

/// A connected socket: where to write, where its acks go, how to end it, and the rooms it joined.
struct Member {
    engine: EngineSocket,
    acks: PendingAcks,
    orphaned: Orphaned,
    rooms: HashSet<Room>,
}

impl ChatServer {
    /// A hub that logs packets for `window` so dropped sockets can recover them.
    pub fn with_recovery(window: Duration) -> ChatServer {
        ChatServer {
            recovery_window: Some(window),
            ..ChatServer::default()
        }
    }

    fn namespace(&mut self, nsp: Arc<str>) -> &mut Rooms {
        let window = self.recovery_window;
        self.namespaces.entry(nsp).or_insert_with(|| Rooms {
            log: window.map(RecoveryLog::new),
            ..Rooms::default()
        })
    }

    /// Registers a connected socket.
    pub fn connect(
        &mut self,
        nsp: Arc<str>,
        id: SocketId,
        engine: EngineSocket,
        acks: PendingAcks,
        orphaned: Orphaned,
    ) {
        self.namespace(nsp).members.insert(
            id,
            Member {
                engine,
                acks,
                orphaned,
                rooms: HashSet::new(),
            },
        );
    }

    /// Ends every member whose transport has closed: it leaves its rooms here and now (so it
    /// drops out of presence at once), then its socket runs its disconnect. Answers how many.
    pub fn sweep_orphans(&mut self) -> usize {
        let mut orphans = Vec::new();
        for (nsp, ns) in &self.namespaces {
            for (id, member) in &ns.members {
                if !member.engine.is_open() {
                    orphans.push((Arc::clone(nsp), id.clone()));
                }
            }
        }
        for (nsp, id) in &orphans {
            let orphaned = self
                .namespaces
                .get(nsp)
                .and_then(|ns| ns.members.get(id))
                .map(|member| member.orphaned.clone());
            let _ = self.disconnect(nsp, id);
            tracing::warn!(socket = %id, nsp = %nsp, "socket registered after its transport closed; ending it");
            if let Some(orphaned) = orphaned {
                orphaned.end();
            }
        }
        orphans.len()
    }

    /// Forgets a socket and takes it out of every room; answers the rooms it was in.
    pub fn disconnect(&mut self, nsp: &str, id: &SocketId) -> HashSet<Room> {
        let Some(ns) = self.namespaces.get_mut(nsp) else {
            return HashSet::new();
        };
        let Some(member) = ns.members.remove(id) else {
            return HashSet::new();
        };
        for room in &member.rooms {
            remove_from_room(&mut ns.rooms, room, id);
        }
        member.rooms
    }

    /// A socket whose connection dropped: it leaves its rooms, which are kept with the packet log
    /// for `keep` in case it comes back.
    pub fn detach(&mut self, nsp: &str, id: &SocketId, keep: Duration) {
        let rooms = self.disconnect(nsp, id);
        if let Some(log) = self.namespaces.get_mut(nsp).and_then(|ns| ns.log.as_mut()) {
            log.detach(id.clone(), rooms, keep);
        }
    }

    /// Sends a DISCONNECT packet to the live sockets matching `options` and closes their
    /// connections (`close`) or takes them out of the adapter; forgets the detached sockets in
    /// `options.rooms` (all of them when it is empty), so they come back as new sockets, with no
    /// rooms and no missed packets. Answers how many live sockets were disconnected.
    pub fn disconnect_sockets(
        &mut self,
        nsp: &str,
        options: &BroadcastOptions,
        close: bool,
    ) -> usize {
        let frames: Arc<[Frame]> = Packet::Disconnect {
            nsp: nsp.to_string(),
        }
        .to_frames()
        .into();
        let mut targets = Vec::new();
        let reached = self.deliver(nsp, &frames, options, |member| {
            targets.push(member.engine.clone());
        });
        for engine in targets {
            if close {
                engine.close(CloseReason::ServerClose);
            }
        }
        if !close {
            let ids: Vec<SocketId> = self
                .sockets(nsp, &options.rooms)
                .into_iter()
                .filter(|id| !self.excluded(nsp, id, options))
                .collect();
            for id in ids {
                let _ = self.disconnect(nsp, &id);
            }
        }
        self.forget_detached(nsp, &options.rooms);
        reached
    }

    /// Forgets the detached sockets in any of `rooms` (every one when empty): they come back as
    /// new sockets, with no rooms and no missed packets.
    pub fn forget_detached(&mut self, nsp: &str, rooms: &[Room]) {
        if let Some(log) = self.namespaces.get_mut(nsp).and_then(|ns| ns.log.as_mut()) {
            let forgotten = log.forget_in_rooms(rooms);
            if forgotten > 0 {
                tracing::info!(
                    nsp,
                    forgotten,
                    "kept sockets forgotten: they cannot recover"
                );
            }
        }
    }

    fn excluded(&self, nsp: &str, id: &SocketId, options: &BroadcastOptions) -> bool {
        let Some(ns) = self.namespaces.get(nsp) else {
            return false;
        };
        options.except.as_ref() == Some(id)
            || options
                .except_rooms
                .iter()
                .any(|room| ns.rooms.get(room).is_some_and(|m| m.contains(id)))
    }

    /// A dropped socket came back: sends it the right CONNECT answer and what it missed, then
    /// registers it again with its rooms. Answers whether it recovered.
    pub fn restore(&mut self, nsp: Arc<str>, request: RestoreRequest) -> bool {
        let ns = self.namespace(Arc::clone(&nsp));
        let restored = ns
            .log
            .as_mut()
            .and_then(|log| log.restore(&request.id, request.offset.as_deref()));
        let engine = request.engine;
        let (rooms, recovered) = match restored {
            Some((rooms, missed)) => {
                let _ = engine.send(Frames::Shared(request.recovered_reply));
                for frames in missed {
                    let _ = engine.send(Frames::Shared(frames));
                }
                (rooms, true)
            }
            None => {
                let _ = engine.send(Frames::Shared(request.fresh_reply));
                (HashSet::new(), false)
            }
        };
        let id = request.id;
        self.connect(
            Arc::clone(&nsp),
            id.clone(),
            engine,
            request.acks,
            request.orphaned,
        );
        self.join(&nsp, &id, rooms.into_iter().collect());
        recovered
    }

    /// Adds a connected socket to rooms; unknown sockets are ignored.
    pub fn join(&mut self, nsp: &str, id: &SocketId, rooms: Vec<Room>) {
        let Some(ns) = self.namespaces.get_mut(nsp) else {
            return;
        };
        let Some(member) = ns.members.get_mut(id) else {
            return;
        };
        for room in rooms {
            ns.rooms.entry(room.clone()).or_default().insert(id.clone());
            member.rooms.insert(room);
        }
    }

    /// Takes a socket out of rooms.
    pub fn leave(&mut self, nsp: &str, id: &SocketId, rooms: Vec<Room>) {
        let Some(ns) = self.namespaces.get_mut(nsp) else {
            return;
        };
        if let Some(member) = ns.members.get_mut(id) {
            for room in rooms {
                member.rooms.remove(&room);
                remove_from_room(&mut ns.rooms, &room, id);
            }
        }
    }

    /// Sends the frames to every matching socket, and logs them when they carry a recovery
    /// offset; returns how many sockets were reached.
    pub fn broadcast(
        &mut self,
        nsp: &str,
        frames: &Arc<[Frame]>,
        options: &BroadcastOptions,
    ) -> usize {
        let reached = self.deliver(nsp, frames, options, |_| {});
        if let (Some(offset), Some(log)) = (
            &options.offset,
            self.namespaces.get_mut(nsp).and_then(|ns| ns.log.as_mut()),
        ) {
            log.push(Arc::clone(offset), Arc::clone(frames), options.clone());
        }
        reached
    }

    /// Sends the frames of an event asking for ack `ack_id` to every matching socket, each
    /// expecting the ack before it is sent, and reports how many were reached; returns that number.
    /// Not logged for recovery: the packet has no offset.
    pub fn broadcast_with_ack(
        &mut self,
        nsp: &str,
        frames: &Arc<[Frame]>,
        options: &BroadcastOptions,
        ack_id: u64,
        reports: &tokio::sync::mpsc::UnboundedSender<AckReport>,
    ) -> usize {
        let reached = self.deliver(nsp, frames, options, |member| {
            member.acks.expect_broadcast(ack_id, reports);
        });
        // The collector may be gone already (it timed out); nothing to tell then.
        let _ = reports.send(AckReport::Delivered(reached));
        reached
    }

    /// Sends the frames to every matching socket, calling `before_send` for each first; returns
    /// how many were reached.
    fn deliver(
        &self,
        nsp: &str,
        frames: &Arc<[Frame]>,
        options: &BroadcastOptions,
        mut before_send: impl FnMut(&Member),
    ) -> usize {
        let Some(ns) = self.namespaces.get(nsp) else {
            return 0;
        };
        let excluded = |id: &SocketId| {
            options.except.as_ref() == Some(id)
                || options
                    .except_rooms
                    .iter()
                    .any(|room| ns.rooms.get(room).is_some_and(|m| m.contains(id)))
        };
        let mut delivered = 0;
        let mut deliver = |id: &SocketId, member: &Member| {
            if !excluded(id) {
                before_send(member);
                // A full queue closes that session; the others are not held up by it.
                let _ = member.engine.send(Frames::Shared(Arc::clone(frames)));
                delivered += 1;
            }
        };
        match options.rooms.as_slice() {
            [] => ns.members.iter().for_each(|(id, m)| deliver(id, m)),
            [room] => match ns.rooms.get(room) {
                Some(ids) => {
                    for id in ids {
                        if let Some(member) = ns.members.get(id) {
                            deliver(id, member);
                        }
                    }
                }
                // Every socket is in the room named by its own id.
                None => {
                    if let Some((id, member)) = ns.members.get_key_value(&**room) {
                        deliver(id, member);
                    }
                }
            },
            rooms => {
                let targets: HashSet<&SocketId> = rooms
                    .iter()
                    .filter_map(|room| ns.rooms.get(room))
                    .flatten()
                    .collect();
                for id in targets {
                    if let Some(member) = ns.members.get(id) {
                        deliver(id, member);
                    }
                }
            }
        }
        delivered
    }

    /// Rooms with at least one member, over every namespace.
    pub fn room_count(&self) -> usize {
        self.namespaces.values().map(|ns| ns.rooms.len()).sum()
    }

    /// The sockets in any of `rooms`, or every socket of the namespace when `rooms` is empty.
    pub fn sockets(&self, nsp: &str, rooms: &[Room]) -> Vec<SocketId> {
        let Some(ns) = self.namespaces.get(nsp) else {
            return Vec::new();
        };
        if rooms.is_empty() {
            return ns.members.keys().cloned().collect();
        }
        let ids: HashSet<&SocketId> = rooms
            .iter()
            .filter_map(|room| ns.rooms.get(room))
            .flatten()
            .collect();
        ids.into_iter().cloned().collect()
    }

    /// The rooms of a namespace whose names start with `prefix`.
    pub fn rooms_named(&self, nsp: &str, prefix: &str) -> Vec<Room> {
        self.namespaces
            .get(nsp)
            .map(|ns| {
                ns.rooms
                    .keys()
                    .filter(|room| room.starts_with(prefix))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl ChatServer {
    /// Checks a trade request's sender: signed in, and not trading with themself.
    pub fn verify_trade(
        &self,
        sender: &Identity,
        recipient: &str,
    ) -> Result<crate::store::UserId, TradeRefusal> {
        let user = sender.user().ok_or(TradeRefusal::Unauthenticated)?;
        if user.name.as_str().eq_ignore_ascii_case(recipient) {
            return Err(TradeRefusal::SelfTrade);
        }
        Ok(user.id)
    }
}

fn remove_from_room(rooms: &mut HashMap<Room, HashSet<SocketId>>, room: &Room, id: &SocketId) {
    if let Some(members) = rooms.get_mut(room) {
        members.remove(id);
        if members.is_empty() {
            rooms.remove(room);
        }
    }
}

impl Actor for ChatServer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(ORPHAN_SWEEP_INTERVAL, |hub, _| {
            if hub.sweep_orphans() > 0 {
                crate::metrics::get().rooms.set(hub.room_count() as i64);
            }
        });
    }
}

#[cfg(test)]
mod tests {
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
}
