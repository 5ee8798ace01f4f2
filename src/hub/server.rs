//! The `ChatServer` actor's state: which sockets are connected, and which rooms they are in.
//!
//! Plain methods here; the messages that call them are in `messages.rs`, one thin handler each.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::recovery_log::RecoveryLog;
use super::room_index::{RoomIndex, Selection};
use crate::accounts::Identity;
use crate::engineio::{CloseReason, EngineSocket, Fanout, Frame, Frames};
use crate::socketio::packet::Packet;
use crate::socketio::{
    AckReport, BroadcastOptions, FetchedSocket, NewSocket, Orphaned, Parser, PendingAcks,
    RecoveryConfig, RestoreRequest, Room, SentFrames, SocketDetails, SocketHooks, SocketId,
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

/// Every socket of a namespace.
const EVERYONE: Selection<'static> = Selection {
    rooms: &[],
    except_rooms: &[],
    except: None,
};

/// The central hub every session reports to. It owns the rooms and delivers broadcasts.
#[derive(Default)]
pub struct ChatServer {
    namespaces: HashMap<Arc<str>, Namespace>,
    /// Connection state recovery: how long packets are logged and dropped sockets' rooms kept,
    /// and how many dropped sockets at most; no log and nothing kept when `None`.
    recovery: Option<RecoveryConfig>,
    /// How the Socket.IO server writes packets: the hub writes DISCONNECT packets itself.
    parser: Parser,
}

/// The sockets and rooms of one namespace, and its packet log.
struct Namespace {
    index: RoomIndex<Member>,
    log: Option<RecoveryLog>,
}

/// A connected socket: where to write, where its acks go, how to end it, what fetches tell, and
/// who is told of its broadcasts and rooms.
struct Member {
    engine: EngineSocket,
    acks: PendingAcks,
    orphaned: Orphaned,
    details: Arc<SocketDetails>,
    hooks: SocketHooks,
}

impl ChatServer {
    /// A hub that logs packets and keeps dropped sockets' rooms as `recovery` says, so dropped
    /// sockets can recover.
    pub fn with_recovery(recovery: RecoveryConfig) -> ChatServer {
        ChatServer {
            recovery: Some(recovery),
            ..ChatServer::default()
        }
    }

    /// The hub of a Socket.IO server that writes packets with `parser` (the default one unless
    /// told).
    pub fn with_parser(self, parser: Parser) -> ChatServer {
        ChatServer { parser, ..self }
    }

    fn namespace(&mut self, nsp: Arc<str>) -> &mut Namespace {
        let recovery = self.recovery;
        self.namespaces.entry(nsp).or_insert_with(|| Namespace {
            // Without recovery nothing is kept; the cap only has to be valid.
            index: RoomIndex::new(recovery.map_or(0, |r| r.max_sessions)),
            log: recovery.map(|r| RecoveryLog::new(r.max_disconnection)),
        })
    }

    /// Registers a connected socket.
    pub fn connect(&mut self, nsp: Arc<str>, socket: NewSocket) {
        let member = Member {
            engine: socket.engine,
            acks: socket.acks,
            orphaned: socket.orphaned,
            details: socket.details,
            hooks: socket.hooks,
        };
        self.namespace(nsp).index.insert(socket.id, member);
    }

    /// Ends every member whose transport has closed: it leaves its rooms here and now (so it
    /// drops out of presence at once), then its socket runs its disconnect. Answers how many.
    pub fn sweep_orphans(&mut self) -> usize {
        let mut orphans = Vec::new();
        for (nsp, ns) in &self.namespaces {
            ns.index.select(EVERYONE, |id, member, _| {
                if !member.engine.is_open() {
                    orphans.push((Arc::clone(nsp), id.clone()));
                }
            });
        }
        for (nsp, id) in &orphans {
            let removed = self
                .namespaces
                .get_mut(nsp)
                .and_then(|ns| ns.index.remove(id));
            tracing::warn!(socket = %id, nsp = %nsp, "socket registered after its transport closed; ending it");
            if let Some((member, _)) = removed {
                member.orphaned.end();
            }
        }
        orphans.len()
    }

    /// Forgets a socket and takes it out of every room; answers the rooms it was in.
    pub fn disconnect(&mut self, nsp: &str, id: &SocketId) -> HashSet<Room> {
        self.namespaces
            .get_mut(nsp)
            .and_then(|ns| ns.index.remove(id))
            .map(|(_, rooms)| rooms)
            .unwrap_or_default()
    }

    /// A socket whose connection dropped: it leaves its rooms, which are kept for `keep` in case
    /// it comes back (when recovery is on; otherwise it is just forgotten).
    pub fn detach(&mut self, nsp: &str, id: &SocketId, keep: Duration) {
        let Some(ns) = self.namespaces.get_mut(nsp) else {
            return;
        };
        if ns.log.is_some() {
            let _ = ns.index.detach(id, keep);
        } else {
            let _ = ns.index.remove(id);
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
        let frames = self.parser.shared_frames(&Packet::Disconnect {
            nsp: nsp.to_string(),
        });
        let mut targets = Vec::new();
        let reached = self.deliver(nsp, &frames, options, |id, member| {
            targets.push((id.clone(), member.engine.clone()));
        });
        for (id, engine) in targets {
            if close {
                engine.close(CloseReason::ServerClose);
            } else {
                let _ = self.disconnect(nsp, &id);
            }
        }
        self.forget_detached(nsp, &options.rooms);
        reached
    }

    /// Forgets the detached sockets in any of `rooms` (every one when empty): they come back as
    /// new sockets, with no rooms and no missed packets.
    pub fn forget_detached(&mut self, nsp: &str, rooms: &[Room]) {
        if let Some(ns) = self.namespaces.get_mut(nsp) {
            let forgotten = ns.index.forget_kept(rooms);
            if forgotten > 0 {
                tracing::info!(
                    nsp,
                    forgotten,
                    "kept sockets forgotten: they cannot recover"
                );
            }
        }
    }

    /// A dropped socket came back: sends it the right CONNECT answer and what it missed, then
    /// registers it again with its rooms. Answers whether it recovered.
    pub fn restore(&mut self, nsp: Arc<str>, request: RestoreRequest) -> bool {
        let ns = self.namespace(Arc::clone(&nsp));
        let id = request.id;
        // Taken whether or not the offset is still known: a socket comes back once. A session
        // claimed from the cluster brings its rooms (and the cluster's log) along.
        let kept = ns.index.take_kept(&id);
        let rooms = match request.rooms {
            Some(claimed) => Some(claimed.into_iter().collect()),
            None => kept,
        };
        let restored = rooms.and_then(|rooms| {
            let missed = ns.log.as_ref()?.missed_with(
                &id,
                &rooms,
                request.offset.as_deref()?,
                &request.logged,
            )?;
            Some((rooms, missed))
        });
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
        let member = Member {
            engine,
            acks: request.acks,
            orphaned: request.orphaned,
            details: request.details,
            hooks: request.hooks,
        };
        let hooks = member.hooks.clone();
        ns.index.insert(id.clone(), member);
        let rooms: Vec<Room> = rooms.into_iter().collect();
        ns.index.join(&id, rooms.iter().cloned());
        hooks.rooms_changed(&rooms, true);
        recovered
    }

    /// Adds a connected socket to rooms; unknown sockets are ignored.
    pub fn join(&mut self, nsp: &str, id: &SocketId, rooms: Vec<Room>) {
        if let Some(ns) = self.namespaces.get_mut(nsp) {
            ns.index.join(id, rooms);
        }
    }

    /// Takes a socket out of rooms.
    pub fn leave(&mut self, nsp: &str, id: &SocketId, rooms: Vec<Room>) {
        if let Some(ns) = self.namespaces.get_mut(nsp) {
            ns.index.leave(id, &rooms);
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
        let sent = SentFrames::new(frames);
        let reached = self.deliver(nsp, frames, options, |_, member| member.hooks.sent(&sent));
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
        let sent = SentFrames::new(frames);
        let reached = self.deliver(nsp, frames, options, |_, member| {
            member.acks.expect_broadcast(ack_id, reports);
            member.hooks.sent(&sent);
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
        mut before_send: impl FnMut(&SocketId, &Member),
    ) -> usize {
        let Some(ns) = self.namespaces.get(nsp) else {
            return 0;
        };
        // One hand-off per worker thread, not per socket (engineio's `WorkerInbox`).
        let mut fanout = Fanout::new(Frames::Shared(Arc::clone(frames)), options.send);
        let reached = ns.index.select(Selection::from(options), |id, member, _| {
            before_send(id, member);
            fanout.add(&member.engine);
        });
        fanout.finish();
        reached
    }

    /// Rooms with at least one member, over every namespace.
    pub fn room_count(&self) -> usize {
        self.namespaces
            .values()
            .map(|ns| ns.index.room_count())
            .sum()
    }

    /// The sockets in any of `rooms`, or every socket of the namespace when `rooms` is empty.
    pub fn sockets(&self, nsp: &str, rooms: &[Room]) -> Vec<SocketId> {
        let Some(ns) = self.namespaces.get(nsp) else {
            return Vec::new();
        };
        let mut ids = Vec::new();
        ns.index
            .select(Selection { rooms, ..EVERYONE }, |id, _, _| {
                ids.push(id.clone())
            });
        ids
    }

    /// The sockets matching `options`, with their rooms, handshake and data.
    pub fn fetch(&self, nsp: &str, options: &BroadcastOptions) -> Vec<FetchedSocket> {
        let mut fetched = Vec::new();
        if let Some(ns) = self.namespaces.get(nsp) {
            ns.index
                .select(Selection::from(options), |id, member, rooms| {
                    fetched.push(FetchedSocket::local(
                        id,
                        rooms.iter().cloned(),
                        &member.details,
                    ));
                });
        }
        fetched
    }

    /// The sockets matching `options` join (`join`) or leave `rooms`.
    pub fn move_sockets(
        &mut self,
        nsp: &str,
        options: &BroadcastOptions,
        rooms: &[Room],
        join: bool,
    ) {
        let Some(ns) = self.namespaces.get_mut(nsp) else {
            return;
        };
        let mut moved = Vec::new();
        ns.index.select(Selection::from(options), |id, member, _| {
            moved.push((id.clone(), member.hooks.clone()));
        });
        for (id, hooks) in &moved {
            if join {
                ns.index.join(id, rooms.iter().cloned());
            } else {
                ns.index.leave(id, rooms);
            }
            hooks.rooms_changed(rooms, join);
        }
    }

    /// The rooms of a namespace whose names start with `prefix`.
    pub fn rooms_named(&self, nsp: &str, prefix: &str) -> Vec<Room> {
        self.namespaces
            .get(nsp)
            .map(|ns| {
                ns.index
                    .rooms()
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
        if user.name.key() == crate::accounts::Username::key_of(recipient) {
            return Err(TradeRefusal::SelfTrade);
        }
        Ok(user.id)
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
mod tests;
