//! The adapter's side of recovery shared through Redis (`recovery`): which of this node's sockets has which private id, the
//! record written when one connects, changes rooms or data, drops or leaves, and the delivery of
//! logged packets once they have their offset.

use std::sync::Arc;

use super::recovery::{LoggedBroadcast, SessionRecord, Write, SESSION_LEASE};
use super::state::Inner;
use crate::engineio::Frame;
use crate::hub::room_index::Selection;
use crate::socketio::{Adapter, BroadcastOptions, Room, SocketId};
use crate::sync::lock;

impl Inner {
    /// A socket with private id `pid` connected (or came back) here: its record is written.
    pub(super) fn session_started(&self, nsp: &Arc<str>, id: &SocketId, pid: String) {
        if self.recovery.is_none() {
            return;
        }
        lock(&self.sessions).insert((Arc::clone(nsp), id.clone()), pid);
        self.session_changed(nsp, id);
    }

    /// A socket's rooms or data changed: its record is written again.
    pub(super) fn session_changed(&self, nsp: &Arc<str>, id: &SocketId) {
        let Some(store) = &self.recovery else {
            return;
        };
        let Some(pid) = lock(&self.sessions)
            .get(&(Arc::clone(nsp), id.clone()))
            .cloned()
        else {
            return;
        };
        let record = self
            .record_of(nsp, id)
            .and_then(|record| serde_json::to_string(&record).ok());
        let write = Write::Session {
            pid,
            record: record.map(|json| (json, store.window + SESSION_LEASE)),
        };
        if !store.write(write) {
            tracing::warn!(socket = %id, "recovery store busy: a session record is behind");
        }
    }

    /// A socket's connection dropped: its record is marked detached and expires with the window.
    pub(super) fn session_detached(&self, nsp: &Arc<str>, id: &SocketId) {
        let Some(store) = &self.recovery else {
            return;
        };
        let Some(pid) = lock(&self.sessions).remove(&(Arc::clone(nsp), id.clone())) else {
            return;
        };
        let record = self
            .detached_record(nsp, id)
            .and_then(|record| serde_json::to_string(&record).ok());
        let write = Write::Session {
            pid,
            record: record.map(|json| (json, store.window)),
        };
        if !store.write(write) {
            tracing::warn!(socket = %id, "recovery store busy: a dropped session may not recover elsewhere");
        }
    }

    /// A socket left for good: its record is deleted.
    pub(super) fn session_ended(&self, nsp: &Arc<str>, id: &SocketId) {
        let Some(store) = &self.recovery else {
            return;
        };
        if let Some(pid) = lock(&self.sessions).remove(&(Arc::clone(nsp), id.clone())) {
            if !store.write(Write::Session { pid, record: None }) {
                tracing::warn!(socket = %id, "recovery store busy: an ended session stays until it expires");
            }
        }
    }

    /// The private ids of this node's live sockets (their leases are renewed).
    pub(super) fn live_pids(&self) -> Vec<String> {
        lock(&self.sessions).values().cloned().collect()
    }

    /// The record of a live socket of this node, from the mirror.
    fn record_of(&self, nsp: &str, id: &SocketId) -> Option<SessionRecord> {
        let own = [Room::from(id.as_str())];
        let selection = Selection {
            rooms: &own,
            except_rooms: &[],
            except: None,
        };
        let selected = self
            .mirror()
            .select(nsp, selection)
            .into_iter()
            .find(|s| s.id == *id)?;
        SessionRecord::new(
            id,
            nsp,
            selected.rooms,
            selected.socket.details.data(),
            &self.uid,
        )
    }

    /// The record of a socket whose connection just dropped: what the mirror last knew, detached.
    fn detached_record(&self, nsp: &str, id: &SocketId) -> Option<SessionRecord> {
        let mut record = self.record_of(nsp, id)?;
        record.detached = true;
        Some(record)
    }

    /// Queues a recoverable broadcast for the log, to be delivered once it has its offset; false
    /// (deliver it now, with this node's offset) without the store or when its queue is full.
    pub(super) fn log_broadcast(
        &self,
        nsp: &Arc<str>,
        frames: &[Frame],
        options: &BroadcastOptions,
        publish: bool,
    ) -> bool {
        let (Some(store), Some(_)) = (&self.recovery, &options.offset) else {
            return false;
        };
        if options.local || options.send.volatile || !self.status.publisher_up() {
            return false;
        }
        let Some(message) = self.wire_broadcast(frames, options) else {
            return false;
        };
        let packet = LoggedBroadcast {
            nsp: Arc::clone(nsp),
            message,
            options: options.clone(),
            publish,
        };
        store.write(Write::Packet(Box::new(packet)))
    }

    /// Delivers a logged broadcast here with its offset (the entry id, or one of this node when
    /// the log could not be written) and publishes it to the other nodes.
    pub(super) fn deliver_logged(&self, packet: LoggedBroadcast, id: Option<String>) {
        let offset = id.clone().unwrap_or_else(crate::socketio::next_offset);
        let Some(frames) = packet.frames_with(&offset, self.options.parser) else {
            return;
        };
        if packet.publish {
            let mut message = packet.message;
            if let (Some(id), Some(flags)) = (id, message.flags.as_object_mut()) {
                flags.insert("offset".into(), id.into());
            }
            let channel = self.channels.broadcast(&packet.nsp, &message.rooms);
            self.publish(channel, message.encode());
        }
        let mut options = packet.options;
        options.offset = Some(Arc::from(offset));
        self.local.broadcast(&packet.nsp, frames, options);
    }
}
