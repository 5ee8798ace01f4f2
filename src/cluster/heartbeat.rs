//! Node liveness: every Agora node of a cluster writes a heartbeat to Redis every
//! [`HEARTBEAT_INTERVAL`], and a node whose last heartbeat is older than [`NODE_TTL`] is dead
//! (killed, frozen, or cut from Redis). It is the cluster's one heartbeat: connection state
//! recovery uses it to tell the sockets of a dead node from live ones, and presence
//! ([`node_rooms`](super::node_rooms)) to hand a dead node's presence rooms to a survivor, as
//! work the beat task does after each heartbeat.
//!
//! The heartbeats are one sorted set, `<key>-nodes`: member the node's uid, score the time of its
//! last heartbeat in Redis's own clock (`TIME`, so the nodes' clocks do not matter). Entries older
//! than [`FORGET_AFTER`] are removed by any node's heartbeat.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::{Client, RedisError};

use super::connection::redact;
use super::link::Link;
use super::ClusterError;
use crate::sync::lock;

/// How often a node writes its heartbeat.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// A node whose last heartbeat is older than this is dead.
pub const NODE_TTL: Duration = Duration::from_secs(3);
/// Heartbeats older than this are removed (long after any recovery window).
pub const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Milliseconds now in Redis's clock, as a Lua expression over `t = redis.call('TIME')`.
pub(super) const LUA_NOW: &str =
    "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";

/// Work the beat task does after each heartbeat it wrote (the presence rooms of `node_rooms`).
pub(super) trait AfterBeat: Send {
    /// Called with the heartbeats and the time of the heartbeat just written (ms, Redis clock);
    /// answers `false` when there is nothing left to do.
    fn after_beat<'a>(&'a mut self, heartbeats: &'a Heartbeats, now: u64) -> BoxFuture<'a, bool>;
}

/// The heartbeats of one cluster (a `--redis-key`).
#[derive(Clone)]
pub struct Heartbeats {
    key: String,
    link: Link,
    /// The presence rooms' work, waiting for the beat task to take it on.
    after: Arc<Mutex<Option<Box<dyn AfterBeat>>>>,
}

impl Heartbeats {
    /// The heartbeats of the cluster whose channels start with `key`, over `link`.
    pub fn new(key: &str, link: Link) -> Heartbeats {
        Heartbeats {
            key: nodes_key(key),
            link,
            after: Arc::new(Mutex::new(None)),
        }
    }

    /// Reads the heartbeats of the cluster `key` at `url` over a connection of its own (to watch
    /// a cluster from outside; a node's adapter has its own [`Heartbeats`]).
    pub async fn connect(url: &str, key: &str) -> Result<Heartbeats, ClusterError> {
        let client = Client::open(url).map_err(|source| ClusterError::InvalidUrl {
            url: redact(url),
            source,
        })?;
        let config = redis::AsyncConnectionConfig::new();
        let connection = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|source| ClusterError::Connect {
                url: redact(url),
                source,
            })?;
        Ok(Heartbeats::new(key, Link::new(client, config, connection)))
    }

    /// The command connection the heartbeats use, shared with the work done after each beat.
    pub(super) fn link(&self) -> &Link {
        &self.link
    }

    /// Hands work to the beat task: done after each heartbeat from the next.
    pub(super) fn after_each_beat(&self, work: Box<dyn AfterBeat>) {
        *lock(&self.after) = Some(work);
    }

    /// Writes node `uid`'s heartbeat now; answers the time written (ms, Redis clock).
    pub async fn beat(&self, uid: &str) -> Result<u64, RedisError> {
        let script = format!(
            "{LUA_NOW} redis.call('ZADD', KEYS[1], now, ARGV[1]) \
             redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2])) return now"
        );
        let mut connection = self.link.connection().await?;
        let result = redis::cmd("EVAL")
            .arg(script)
            .arg(1)
            .arg(&self.key)
            .arg(uid)
            .arg(FORGET_AFTER.as_millis() as u64)
            .query_async(&mut connection)
            .await;
        self.link.check(result)
    }

    /// The uids of the nodes alive now.
    pub async fn live_nodes(&self) -> Result<Vec<String>, RedisError> {
        self.by_age("return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')")
            .await
    }

    /// The nodes silent for longer than [`NODE_TTL`] (and not yet forgotten), each with the time
    /// of its last heartbeat (ms, Redis clock).
    pub async fn dead_nodes(&self) -> Result<Vec<(String, u64)>, RedisError> {
        self.by_age(
            "return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', \
             string.format('(%d', now - tonumber(ARGV[1])), 'WITHSCORES')",
        )
        .await
    }

    /// Runs `query` on the heartbeat set, with `now` (Redis's clock, ms) and ARGV[1] =
    /// [`NODE_TTL`] in ms, so it can select nodes by the age of their last beat.
    async fn by_age<T: redis::FromRedisValue>(&self, query: &str) -> Result<T, RedisError> {
        let mut connection = self.link.connection().await?;
        let result = redis::cmd("EVAL")
            .arg(format!("{LUA_NOW} {query}"))
            .arg(1)
            .arg(&self.key)
            .arg(NODE_TTL.as_millis() as u64)
            .query_async(&mut connection)
            .await;
        self.link.check(result)
    }

    /// Writes node `uid`'s heartbeat every [`HEARTBEAT_INTERVAL`] until the task is dropped,
    /// each followed by the work handed over ([`Heartbeats::after_each_beat`]); failures are
    /// logged and retried at the next beat.
    pub(super) async fn run(self, uid: String) {
        let mut ticks = tokio::time::interval(HEARTBEAT_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut after: Option<Box<dyn AfterBeat>> = None;
        loop {
            ticks.tick().await;
            let now = match self.beat(&uid).await {
                Ok(now) => now,
                Err(error) => {
                    tracing::debug!(%error, "heartbeat not written");
                    continue;
                }
            };
            if after.is_none() {
                after = lock(&self.after).take();
            }
            if let Some(work) = after.as_mut() {
                if !work.after_beat(&self, now).await {
                    after = None;
                }
            }
        }
    }
}

/// The sorted set of the heartbeats of the cluster `key`.
pub(super) fn nodes_key(key: &str) -> String {
    format!("{key}-nodes")
}
