//! [`RateLimiter`]: at most N events per key in a fixed time window, in bounded memory.
//!
//! Memory stays bounded three ways: keys are typed values of bounded size (addresses, socket ids,
//! parsed user names — never raw client strings), at most [`DEFAULT_MAX_KEYS`] keys are tracked
//! (a new key past that is refused: fail closed), and expired windows are dropped by
//! [`RateLimiter::sweep`], which a periodic task calls every [`SWEEP_INTERVAL`] (never a scan on the
//! hot path).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the periodic task drops expired windows from every limiter.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Keys tracked at most by one limiter. Past it a *new* key is refused until the sweep frees room
/// (known keys keep counting): forgetting counted events instead would let a flood of new keys
/// wipe out the counts that stop a guesser. 100k windows are a few MiB.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// Counts events per key; refuses once `max` happened within `window`.
pub struct RateLimiter<K> {
    max: u32,
    window: Duration,
    max_keys: usize,
    windows: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    /// A limiter allowing `max` events per `window` and key, for at most [`DEFAULT_MAX_KEYS`] keys.
    pub fn new(max: u32, window: Duration) -> RateLimiter<K> {
        RateLimiter::with_max_keys(max, window, DEFAULT_MAX_KEYS)
    }

    /// A limiter tracking at most `max_keys` keys.
    pub fn with_max_keys(max: u32, window: Duration, max_keys: usize) -> RateLimiter<K> {
        RateLimiter {
            max,
            window,
            max_keys,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// The window the limits apply to.
    pub fn window(&self) -> Duration {
        self.window
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, u32)>> {
        // Each critical section leaves the map consistent.
        crate::sync::lock(&self.windows)
    }

    /// Records one event; `Err(wait)` if the key is over its limit (the event is not counted), or
    /// if it is a new key and the limiter is full.
    pub fn hit(&self, key: &K) -> Result<(), Duration> {
        let now = Instant::now();
        let mut windows = self.lock();
        if !windows.contains_key(key) && windows.len() >= self.max_keys {
            tracing::warn!(
                keys = windows.len(),
                "rate limiter full; refusing a new key"
            );
            return Err(SWEEP_INTERVAL.min(self.window));
        }
        let (start, count) = windows.entry(key.clone()).or_insert((now, 0));
        if now.duration_since(*start) >= self.window {
            *start = now;
            *count = 0;
        }
        if *count >= self.max {
            return Err(self.window.saturating_sub(now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }

    /// Takes back one event counted by [`RateLimiter::hit`] in the current window (say, a login
    /// attempt that turned out to be right).
    pub fn give_back(&self, key: &K) {
        let mut windows = self.lock();
        if let Some((_, count)) = windows.get_mut(key) {
            *count = count.saturating_sub(1);
        }
    }

    /// Forgets a key (say, after a successful login).
    pub fn reset(&self, key: &K) {
        self.lock().remove(key);
    }

    /// Drops the keys whose window is over; answers how many keys remain.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let mut windows = self.lock();
        windows.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        windows.len()
    }

    /// How many keys are tracked.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_per_key() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        assert!(limiter.hit(&"a").is_ok());
        assert!(limiter.hit(&"a").is_ok());
        assert!(limiter.hit(&"a").is_err());
        assert!(limiter.hit(&"b").is_ok(), "keys are independent");
        limiter.reset(&"a");
        assert!(limiter.hit(&"a").is_ok());
    }

    #[test]
    fn a_new_window_starts_fresh() {
        let limiter = RateLimiter::new(1, Duration::from_millis(20));
        assert!(limiter.hit(&1).is_ok());
        assert!(limiter.hit(&1).is_err());
        std::thread::sleep(Duration::from_millis(25));
        assert!(limiter.hit(&1).is_ok());
    }

    #[test]
    fn a_given_back_event_no_longer_counts() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        assert!(limiter.hit(&"a").is_ok());
        assert!(limiter.hit(&"a").is_ok());
        limiter.give_back(&"a");
        assert!(limiter.hit(&"a").is_ok());
        assert!(limiter.hit(&"a").is_err());
        limiter.give_back(&"unknown");
        assert_eq!(limiter.len(), 1, "giving back never adds a key");
    }

    #[test]
    fn a_full_limiter_refuses_new_keys_but_counts_known_ones() {
        let limiter = RateLimiter::with_max_keys(2, Duration::from_secs(60), 3);
        for key in 0..3 {
            assert!(limiter.hit(&key).is_ok());
        }
        assert!(limiter.hit(&3).is_err(), "a fourth key is refused");
        assert!(limiter.hit(&0).is_ok(), "a known key still counts");
        assert!(limiter.hit(&0).is_err());
        assert_eq!(limiter.len(), 3);
    }

    #[test]
    fn the_sweep_drops_expired_windows_only() {
        let limiter = RateLimiter::with_max_keys(5, Duration::from_millis(30), 2);
        assert!(limiter.hit(&"old").is_ok());
        std::thread::sleep(Duration::from_millis(40));
        assert!(limiter.hit(&"new").is_ok());
        assert!(limiter.hit(&"third").is_err(), "full");
        assert_eq!(limiter.sweep(), 1, "only the expired key went");
        assert!(limiter.hit(&"third").is_ok(), "room again after the sweep");
        assert!(!limiter.is_empty());
    }
}
