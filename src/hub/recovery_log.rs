//! What connection state recovery needs on the hub's side: the recent room/broadcast packets of a
//! namespace, by offset, and the rooms of sockets whose connection dropped.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engineio::Frame;
use crate::socketio::{BroadcastOptions, Room, SocketId, DEFAULT_MAX_SESSIONS};

/// Most packets kept per namespace.
pub const MAX_LOG_PACKETS: usize = 100_000;
/// Most bytes kept per namespace.
pub const MAX_LOG_BYTES: usize = 64 * 1024 * 1024;

/// A logged packet.
pub struct Entry {
    pub offset: Arc<str>,
    pub frames: Arc<[Frame]>,
    pub options: BroadcastOptions,
    at: Instant,
    bytes: usize,
}

impl Entry {
    /// Would this packet have reached socket `id`, in `rooms`?
    pub fn reaches(&self, id: &SocketId, rooms: &HashSet<Room>) -> bool {
        let options = &self.options;
        if options.except.as_ref() == Some(id)
            || options.except_rooms.iter().any(|r| rooms.contains(r))
        {
            return false;
        }
        options.rooms.is_empty()
            || options
                .rooms
                .iter()
                .any(|r| rooms.contains(r) || **r == *id.as_str())
    }
}

/// What a returning socket gets back: its rooms, and the packets it missed, in order.
pub type Restored = (HashSet<Room>, Vec<Arc<[Frame]>>);

/// A socket whose connection dropped, with the rooms it will get back.
pub struct Detached {
    pub rooms: HashSet<Room>,
    until: Instant,
}

/// The recovery state of one namespace.
pub struct RecoveryLog {
    window: Duration,
    entries: VecDeque<Entry>,
    bytes: usize,
    detached: HashMap<SocketId, Detached>,
}

impl RecoveryLog {
    /// Keeps packets and detached sockets for `window`.
    pub fn new(window: Duration) -> RecoveryLog {
        RecoveryLog {
            window,
            entries: VecDeque::new(),
            bytes: 0,
            detached: HashMap::new(),
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

    /// Remembers a dropped socket's rooms.
    pub fn detach(&mut self, id: SocketId, rooms: HashSet<Room>, keep: Duration) {
        let now = Instant::now();
        self.detached.retain(|_, d| d.until > now);
        if self.detached.len() >= DEFAULT_MAX_SESSIONS {
            if let Some(oldest) = self
                .detached
                .iter()
                .min_by_key(|(_, d)| d.until)
                .map(|(id, _)| id.clone())
            {
                self.detached.remove(&oldest);
            }
        }
        self.detached.insert(
            id,
            Detached {
                rooms,
                until: now + keep,
            },
        );
    }

    /// Forgets the detached sockets in any of `rooms` (every one when empty); answers how many.
    pub fn forget_in_rooms(&mut self, rooms: &[Room]) -> usize {
        let before = self.detached.len();
        self.detached.retain(|id, detached| {
            !(rooms.is_empty()
                || rooms
                    .iter()
                    .any(|room| detached.rooms.contains(room) || &**room == id.as_str()))
        });
        before - self.detached.len()
    }

    /// Takes back a dropped socket's rooms and the packets it missed after `offset`; `None` if
    /// the socket or the offset is no longer known (then nothing can be promised).
    pub fn restore(&mut self, id: &SocketId, offset: Option<&str>) -> Option<Restored> {
        let detached = self.detached.remove(id)?;
        if detached.until <= Instant::now() {
            return None;
        }
        let offset = offset?;
        let position = self.entries.iter().rposition(|e| &*e.offset == offset)?;
        let missed = self
            .entries
            .iter()
            .skip(position + 1)
            .filter(|entry| entry.reaches(id, &detached.rooms))
            .map(|entry| Arc::clone(&entry.frames))
            .collect();
        Some((detached.rooms, missed))
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
    fn restores_what_the_socket_missed_after_its_offset() {
        let mut log = RecoveryLog::new(Duration::from_secs(60));
        let id = SocketId::random();
        log.push("o1".into(), frames("1"), to(&[]));
        log.push("o2".into(), frames("2"), to(&["r"]));
        log.detach(
            id.clone(),
            [Room::from("r")].into(),
            Duration::from_secs(60),
        );
        log.push("o3".into(), frames("3"), to(&["other"]));
        log.push("o4".into(), frames("4"), to(&["r"]));
        log.push("o5".into(), frames("5"), to(&[id.as_str()]));
        let (rooms, missed) = log.restore(&id, Some("o1")).unwrap();
        assert!(rooms.contains("r"));
        let texts: Vec<Arc<[Frame]>> = vec![frames("2"), frames("4"), frames("5")];
        assert_eq!(missed, texts);
        assert!(log.restore(&id, Some("o1")).is_none(), "restored once");
    }

    #[test]
    fn an_unknown_offset_or_socket_restores_nothing() {
        let mut log = RecoveryLog::new(Duration::from_secs(60));
        let id = SocketId::random();
        log.detach(id.clone(), HashSet::new(), Duration::from_secs(60));
        assert!(log.restore(&id, Some("gone")).is_none());
        assert!(log.restore(&SocketId::random(), None).is_none());
    }
}
