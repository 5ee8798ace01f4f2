//! [`RateLimiter`]: at most N events per key in a fixed time window.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Past this many tracked keys, expired ones are swept out on the next hit.
const SWEEP_THRESHOLD: usize = 10_000;

/// Counts events per key; refuses once `max` happened within `window`.
pub struct RateLimiter<K> {
    max: u32,
    window: Duration,
    windows: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    /// A limiter allowing `max` events per `window` and key.
    pub fn new(max: u32, window: Duration) -> RateLimiter<K> {
        RateLimiter {
            max,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Records one event; `Err(wait)` if the key is over its limit (the event is not counted).
    pub fn hit(&self, key: &K) -> Result<(), Duration> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > SWEEP_THRESHOLD {
            windows.retain(|_, (start, _)| now.duration_since(*start) < self.window);
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

    /// `Err(wait)` if the key is at its limit, without counting anything.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let now = Instant::now();
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        match windows.get(key) {
            Some((start, count))
                if now.duration_since(*start) < self.window && *count >= self.max =>
            {
                Err(self.window.saturating_sub(now.duration_since(*start)))
            }
            _ => Ok(()),
        }
    }

    /// Forgets a key (say, after a successful login).
    pub fn reset(&self, key: &K) {
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
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
        assert!(limiter.check(&"a").is_err());
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
}
