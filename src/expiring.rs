//! [`ExpiringMap`]: a map whose entries expire and whose size is capped, the oldest entry giving way
//! to a new one. It keeps whatever connection state recovery holds for sockets that may come back.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Entries by key, each until its deadline, at most `cap` of them.
///
/// Inserting, taking and expiring cost O(1) amortized: entries are queued in insertion order, and
/// the queue is only walked from its front, where the oldest entries are.
pub struct ExpiringMap<K, V> {
    cap: usize,
    entries: HashMap<K, Slot<V>>,
    /// Keys in insertion order, with the sequence number of the insertion; a key whose slot has
    /// another sequence number was taken or inserted again since, and is skipped.
    order: VecDeque<(K, u64)>,
    next_seq: u64,
}

struct Slot<V> {
    value: V,
    until: Instant,
    seq: u64,
}

impl<K: Eq + Hash + Clone, V> ExpiringMap<K, V> {
    /// An empty map holding at most `cap` entries (at least one).
    pub fn new(cap: usize) -> ExpiringMap<K, V> {
        ExpiringMap {
            cap: cap.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
        }
    }

    /// Keeps `value` under `key` for `ttl`, replacing what the key held. Expired entries go first;
    /// if the map is still full, the oldest entries give way.
    pub fn insert(&mut self, key: K, value: V, ttl: Duration) {
        let now = Instant::now();
        self.entries.remove(&key);
        self.expire(now);
        while self.entries.len() >= self.cap {
            if !self.pop_front() {
                break;
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.push_back((key.clone(), seq));
        self.entries.insert(
            key,
            Slot {
                value,
                until: now + ttl,
                seq,
            },
        );
        self.compact();
    }

    /// Takes the value under `key` out, if it has not expired.
    pub fn take<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let slot = self.entries.remove(key)?;
        (slot.until > Instant::now()).then_some(slot.value)
    }

    /// Takes out every live entry whose value matches `predicate`.
    pub fn take_where(&mut self, mut predicate: impl FnMut(&V) -> bool) -> Vec<V> {
        let now = Instant::now();
        let keys: Vec<K> = self
            .entries
            .iter()
            .filter(|(_, slot)| slot.until > now && predicate(&slot.value))
            .map(|(key, _)| key.clone())
            .collect();
        keys.iter()
            .filter_map(|key| self.entries.remove(key))
            .map(|slot| slot.value)
            .collect()
    }

    /// How many entries are held (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops the expired entries at the front of the queue.
    pub fn expire(&mut self, now: Instant) {
        while let Some((key, seq)) = self.order.front() {
            match self.entries.get(key) {
                Some(slot) if slot.seq == *seq && slot.until > now => break,
                Some(slot) if slot.seq == *seq => {
                    self.entries.remove(key);
                }
                _ => {}
            }
            self.order.pop_front();
        }
    }

    /// Removes the oldest live entry; false when there is none.
    fn pop_front(&mut self) -> bool {
        while let Some((key, seq)) = self.order.pop_front() {
            if self.entries.get(&key).is_some_and(|slot| slot.seq == seq) {
                self.entries.remove(&key);
                return true;
            }
        }
        false
    }

    /// Forgets queued keys that were taken, once they outnumber the live ones.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.entries.len() + 16 {
            let entries = &self.entries;
            self.order
                .retain(|(key, seq)| entries.get(key).is_some_and(|slot| slot.seq == *seq));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(60);

    #[test]
    fn takes_what_was_kept_once() {
        let mut map = ExpiringMap::new(10);
        map.insert("a", 1, LONG);
        map.insert("b", 2, LONG);
        assert_eq!(map.take(&"a"), Some(1));
        assert_eq!(map.take(&"a"), None);
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn the_oldest_gives_way_when_full() {
        let mut map = ExpiringMap::new(2);
        map.insert("a", 1, LONG);
        map.insert("b", 2, LONG);
        map.insert("a", 3, LONG); // "a" again is now the newest
        map.insert("c", 4, LONG);
        assert_eq!(map.len(), 2);
        assert_eq!(map.take(&"b"), None);
        assert_eq!(map.take(&"a"), Some(3));
        assert_eq!(map.take(&"c"), Some(4));
    }

    #[test]
    fn expired_entries_are_neither_taken_nor_kept() {
        let mut map = ExpiringMap::new(10);
        map.insert("old", 1, Duration::ZERO);
        map.insert("new", 2, LONG);
        assert_eq!(map.len(), 1, "inserting swept the expired entry");
        assert_eq!(map.take(&"new"), Some(2));
        map.insert("gone", 3, Duration::ZERO);
        assert_eq!(map.take(&"gone"), None);
    }

    #[test]
    fn the_queue_stays_bounded_under_churn() {
        let mut map = ExpiringMap::new(1_000);
        for i in 0..100_000u32 {
            map.insert(i, i, LONG);
            assert_eq!(map.take(&i), Some(i));
        }
        assert!(map.is_empty());
        assert!(map.order.len() <= 16 + 1, "queue: {}", map.order.len());
    }

    #[test]
    fn takes_by_predicate() {
        let mut map = ExpiringMap::new(10);
        for i in 0..6 {
            map.insert(i, i, LONG);
        }
        let mut even = map.take_where(|v| v % 2 == 0);
        even.sort();
        assert_eq!(even, [0, 2, 4]);
        assert_eq!(map.len(), 3);
    }
}
