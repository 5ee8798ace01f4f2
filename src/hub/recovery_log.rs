//! What connection state recovery needs on the hub's side besides the rooms of dropped sockets
//! (which the namespace's [`RoomIndex`](super::room_index::RoomIndex) keeps): the recent
//! room/broadcast packets of a namespace, by offset.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::room_index::Selection;
use crate::engineio::Frame;
use crate::socketio::{BroadcastOptions, LoggedPacket, Room, SocketId};

/// Most packets kept per namespace.
pub const MAX_LOG_PACKETS: usize = 100_000;
/// Most bytes kept per namespace.
pub const MAX_LOG_BYTES: usize = 64 * 1024 * 1024;

/// A logged packet.
struct Entry {
    /// The offset the packet carries; a returning client names the last one it got.
    offset: Arc<str>,
    /// The encoded packet.
    frames: Arc<[Frame]>,
    /// Which sockets it was for.
    options: BroadcastOptions,
    at: Instant,
    bytes: usize,
}

/// The logged packets of one namespace, for `window` (and at most [`MAX_LOG_PACKETS`] and
/// [`MAX_LOG_BYTES`]).
pub struct RecoveryLog {
    window: Duration,
    entries: VecDeque<Entry>,
    bytes: usize,
}

impl RecoveryLog {
    /// Keeps packets for `window`.
    pub fn new(window: Duration) -> RecoveryLog {
        RecoveryLog {
            window,
            entries: VecDeque::new(),
            bytes: 0,
        }
    }

    /// Logs a packet that was just delivered.
    pub fn push(&mut self, offset: Arc<str>, frames: Arc<[Frame]>, options: BroadcastOptions) {
        let bytes = frames.iter().map(Frame::len).sum::<usize>() + offset.len();
        self.bytes += bytes;
        self.entries.push_back(Entry {
            offset,
            frames,
            options,
            at: Instant::now(),
            bytes,
        });
        self.evict();
    }

    /// The packets after `offset` that would have reached socket `id`, in `rooms`, in order;
    /// `None` if the offset is no longer known (then nothing can be promised).
    pub fn missed(
        &self,
        id: &SocketId,
        rooms: &HashSet<Room>,
        offset: &str,
    ) -> Option<Vec<Arc<[Frame]>>> {
        let position = self.entries.iter().rposition(|e| &*e.offset == offset)?;
        let missed = self
            .entries
            .iter()
            .skip(position + 1)
            .filter(|entry| Selection::from(&entry.options).takes(id, rooms))
            .map(|entry| Arc::clone(&entry.frames))
            .collect();
        Some(missed)
    }

    /// [`RecoveryLog::missed`], or when this log does not reach back to `offset`, the packets of
    /// a cluster's shared log after it (`logged`, in order), followed by what this log holds after
    /// the last of them (what arrived while they were read). `None` if neither knows the offset.
    pub fn missed_with(
        &self,
        id: &SocketId,
        rooms: &HashSet<Room>,
        offset: &str,
        logged: &[LoggedPacket],
    ) -> Option<Vec<Arc<[Frame]>>> {
        if let Some(missed) = self.missed(id, rooms, offset) {
            return Some(missed);
        }
        let first = logged.first()?;
        if &*first.offset != offset {
            return None;
        }
        let mut missed: Vec<Arc<[Frame]>> = logged[1..]
            .iter()
            .filter(|packet| Selection::from(&packet.options).takes(id, rooms))
            .map(|packet| Arc::clone(&packet.frames))
            .collect();
        let last = logged.last().map_or(offset, |packet| &*packet.offset);
        if let Some(after) = self.missed(id, rooms, last) {
            missed.extend(after);
        }
        Some(missed)
    }

    fn evict(&mut self) {
        let now = Instant::now();
        while let Some(front) = self.entries.front() {
            let too_old = now.duration_since(front.at) > self.window;
            let too_many = self.entries.len() > MAX_LOG_PACKETS || self.bytes > MAX_LOG_BYTES;
            if !(too_old || too_many) {
                break;
            }
            self.bytes -= front.bytes;
            self.entries.pop_front();
        }
        let metrics = crate::metrics::get();
        metrics.recovery_log_packets.set(self.entries.len() as i64);
        metrics.recovery_log_bytes.set(self.bytes as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(text: &str) -> Arc<[Frame]> {
        vec![Frame::text_message(text)].into()
    }

    fn to(rooms: &[&str]) -> BroadcastOptions {
        BroadcastOptions {
            rooms: rooms.iter().map(|r| Room::from(*r)).collect(),
            ..BroadcastOptions::default()
        }
    }

    #[test]
    fn answers_what_the_socket_missed_after_its_offset() {
        let mut log = RecoveryLog::new(Duration::from_secs(60));
        let id = SocketId::random();
        let rooms: HashSet<Room> = [Room::from("r")].into();
        log.push("o1".into(), frames("1"), to(&[]));
        log.push("o2".into(), frames("2"), to(&["r"]));
        log.push("o3".into(), frames("3"), to(&["other"]));
        log.push("o4".into(), frames("4"), to(&["r"]));
        log.push("o5".into(), frames("5"), to(&[id.as_str()]));
        let missed = log.missed(&id, &rooms, "o1").expect("o1 is logged");
        let texts: Vec<Arc<[Frame]>> = vec![frames("2"), frames("4"), frames("5")];
        assert_eq!(missed, texts);
        assert_eq!(log.missed(&id, &rooms, "o5"), Some(Vec::new()));
    }

    #[test]
    fn an_unknown_offset_promises_nothing() {
        let mut log = RecoveryLog::new(Duration::from_secs(60));
        log.push("o1".into(), frames("1"), to(&[]));
        assert!(log
            .missed(&SocketId::random(), &HashSet::new(), "gone")
            .is_none());
    }
}
