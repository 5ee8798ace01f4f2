//! What the clients and the drivers share: the joined clients and their command channels, the
//! broadcasts sent, the counts over the run, and the random choices.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use hdrhistogram::Histogram;
use tokio::sync::mpsc;

/// Error messages kept for the report.
const KEPT_ERRORS: usize = 5;

/// What a client is told to do.
pub(super) enum Command {
    /// Broadcast to its room, with this sequence number.
    Broadcast(u64),
    /// Leave (by a reset or politely); broadcasts sent up to `cutoff` must have arrived.
    Leave { reset: bool, cutoff: Instant },
}

/// A broadcast as the loadgen sent it.
pub(super) struct Sent {
    pub(super) seq: u64,
    pub(super) at: Instant,
    pub(super) sender: u64,
}

/// A joined client, as the drivers see it.
pub(super) struct Slot {
    pub(super) commands: mpsc::UnboundedSender<Command>,
    /// Where it is in `State::live`, while it is there.
    pub(super) index: Option<usize>,
}

/// Counts over the whole run.
#[derive(Default, Debug)]
pub(super) struct Tally {
    pub(super) websocket: u64,
    pub(super) polling: u64,
    pub(super) connect_errors: u64,
    pub(super) polite: u64,
    pub(super) resets: u64,
    /// Connections that ended without being told to.
    pub(super) dropped: u64,
    pub(super) broadcasts: u64,
    pub(super) deliveries: u64,
    pub(super) expected: u64,
    pub(super) lost: u64,
    pub(super) duplicates: u64,
    pub(super) misrouted: u64,
    pub(super) unexpected: u64,
    pub(super) errors: Vec<String>,
}

impl Tally {
    pub(super) fn error(&mut self, what: &str, error: impl std::fmt::Display) {
        if self.errors.len() < KEPT_ERRORS {
            self.errors.push(format!("{what}: {error}"));
        }
    }
}

/// xorshift64*: enough randomness for picking clients, no dependency.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (n > 0).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `p`.
    pub(super) fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// The state the clients and the drivers share.
pub(super) struct State {
    pub(super) clock: Instant,
    pub(super) rng: Rng,
    pub(super) next_id: u64,
    pub(super) next_seq: u64,
    /// Joined clients that may be picked to broadcast or leave.
    pub(super) live: Vec<u64>,
    pub(super) slots: HashMap<u64, Slot>,
    /// Broadcasts by room, in the order they were sent.
    pub(super) logs: Vec<Vec<Sent>>,
    /// The room of every broadcast sent, by sequence number.
    pub(super) room_of: HashMap<u64, usize>,
    /// Client tasks still running.
    pub(super) active: usize,
    /// Set at the end: clients that join now leave at once.
    pub(super) closing: bool,
    pub(super) latency: Histogram<u64>,
    pub(super) tally: Tally,
}

impl State {
    pub(super) fn add_live(&mut self, id: u64, commands: mpsc::UnboundedSender<Command>) {
        self.slots.insert(
            id,
            Slot {
                commands,
                index: Some(self.live.len()),
            },
        );
        self.live.push(id);
    }

    /// Takes a client out of the pickable ones (it may still be running).
    pub(super) fn retire(&mut self, id: u64) {
        let Some(index) = self.slots.get_mut(&id).and_then(|slot| slot.index.take()) else {
            return;
        };
        self.live.swap_remove(index);
        if let Some(&moved) = self.live.get(index) {
            if let Some(slot) = self.slots.get_mut(&moved) {
                slot.index = Some(index);
            }
        }
    }

    pub(super) fn random_live(&mut self) -> Option<u64> {
        (!self.live.is_empty()).then(|| self.live[self.rng.below(self.live.len())])
    }

    /// Tells a random joined client to leave.
    pub(super) fn dismiss_one(&mut self, resets: f64, cutoff: Instant) {
        if let Some(id) = self.random_live() {
            let reset = self.rng.chance(resets);
            self.dismiss(id, reset, cutoff);
        }
    }

    pub(super) fn dismiss(&mut self, id: u64, reset: bool, cutoff: Instant) {
        self.retire(id);
        if let Some(slot) = self.slots.get(&id) {
            let _ = slot.commands.send(Command::Leave { reset, cutoff });
        }
    }

    /// Tells a random joined client to broadcast.
    pub(super) fn broadcast_one(&mut self) {
        if let Some(id) = self.random_live() {
            let seq = self.next_seq;
            self.next_seq += 1;
            if let Some(slot) = self.slots.get(&id) {
                let _ = slot.commands.send(Command::Broadcast(seq));
            }
        }
    }

    /// Checks, for a client leaving, the broadcasts to its room sent between its join and `cutoff`.
    pub(super) fn audit(
        &mut self,
        id: u64,
        room: usize,
        joined: Instant,
        cutoff: Instant,
        got: &HashSet<u64>,
    ) {
        let log = &self.logs[room];
        let from = log.partition_point(|sent| sent.at < joined);
        let to = log.partition_point(|sent| sent.at <= cutoff);
        for sent in log.get(from..to).unwrap_or_default() {
            if sent.sender == id {
                continue;
            }
            self.tally.expected += 1;
            if !got.contains(&sent.seq) {
                self.tally.lost += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retiring_keeps_the_live_list_consistent() {
        let mut rng_state = State {
            clock: Instant::now(),
            rng: Rng(1),
            next_id: 0,
            next_seq: 0,
            live: Vec::new(),
            slots: HashMap::new(),
            logs: Vec::new(),
            room_of: HashMap::new(),
            active: 0,
            closing: false,
            latency: Histogram::new(3).expect("histogram"),
            tally: Tally::default(),
        };
        for id in 1..=4 {
            rng_state.add_live(id, mpsc::unbounded_channel().0);
        }
        rng_state.retire(2);
        rng_state.retire(2);
        rng_state.retire(4);
        let mut live = rng_state.live.clone();
        live.sort();
        assert_eq!(live, vec![1, 3]);
        for id in [1, 3] {
            let index = rng_state.slots[&id].index.expect("live");
            assert_eq!(rng_state.live[index], id);
        }
    }
}
