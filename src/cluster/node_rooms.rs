//! Each node's presence rooms in Redis, handed to one surviving node when the node dies: what a
//! node that died left behind. Liveness is the cluster's one heartbeat ([`Heartbeats`]); this
//! module only adds the rooms and the claim of a dead node's rooms, as work the beat task does
//! after each heartbeat it wrote (see [`RedisAdapter::track_rooms`]).
//!
//! After each heartbeat, a node that tracks rooms:
//! - writes its *tracked rooms* (rooms of one namespace whose names start with given prefixes,
//!   e.g. the apps' presence rooms) to the set `<key>#agora#rooms#<uid>` when they changed since
//!   the last write (or after a gap in its heartbeats, when a survivor may have taken them), and
//!   keeps that set for [`ROOMS_TTL`];
//! - asks the heartbeats for dead nodes. The first node to claim a dead one (`<key>#agora#reaped#<uid>`
//!   set to the dead node's last heartbeat, in one script that also checks the node is still
//!   silent) reads and deletes its tracked rooms and hands them to its [`DeadNode`] receiver;
//!   every other node skips it. So a node killed without a word is noticed within
//!   [`NODE_TTL`] + [`HEARTBEAT_INTERVAL`], once per death.
//!
//! Trade-offs: a node cut from Redis (or frozen) for longer than [`NODE_TTL`] is taken for dead
//! (its rooms are handed over while its sockets may still live; it writes them again at its next
//! heartbeat); a claimant that dies between its claim and its work loses that node's rooms.
//!
//! [`HEARTBEAT_INTERVAL`]: super::heartbeat::HEARTBEAT_INTERVAL

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use redis::RedisError;
use tokio::sync::mpsc;

use super::adapter::RedisAdapter;
use super::heartbeat::{nodes_key, AfterBeat, Heartbeats, FORGET_AFTER, NODE_TTL};
use super::state::Inner;
use crate::sync::lock;

/// How long a node's tracked rooms outlive its last write when no node claims them (a cluster
/// that stopped whole leaves nothing behind for good).
const ROOMS_TTL: Duration = Duration::from_secs(300);
/// How long a claim on a dead node is kept: as long as its heartbeat is remembered, so that a
/// node stays claimed for as long as it can be listed dead.
const CLAIM_TTL: Duration = FORGET_AFTER;
/// Most dead nodes' rooms waiting for their receiver; beyond that they are dropped (logged).
const DEAD_QUEUE: usize = 64;

/// Claims a dead node's rooms, once per death. KEYS: the heartbeats, the claim, the dead node's
/// rooms. ARGV: its uid, its last heartbeat (as listed dead), the claim's time to live (ms).
/// Answers the rooms, or nil if the node beat again or its death was claimed already.
const CLAIM_SCRIPT: &str = "
local seen = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not seen or tonumber(seen) ~= tonumber(ARGV[2]) then return false end
if redis.call('GET', KEYS[2]) == ARGV[2] then return false end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
local rooms = redis.call('SMEMBERS', KEYS[3])
redis.call('DEL', KEYS[3])
return rooms
";

/// Which rooms a node records in Redis for the node that will notice its death.
#[derive(Debug, Clone)]
pub struct TrackedRooms {
    /// The namespace.
    pub nsp: String,
    /// Rooms whose name starts with one of these are recorded.
    pub prefixes: Vec<String>,
}

/// A node whose heartbeat stopped, claimed by this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadNode {
    /// Its uid in the cluster.
    pub uid: String,
    /// Its tracked rooms at its last write.
    pub rooms: Vec<String>,
}

/// The Redis key names of the tracked rooms under one cluster key.
#[derive(Debug, Clone)]
struct Keys {
    prefix: String,
    heartbeats: String,
}

impl Keys {
    fn new(key: &str) -> Keys {
        Keys {
            prefix: format!("{key}#agora#"),
            heartbeats: nodes_key(key),
        }
    }

    fn rooms(&self, uid: &str) -> String {
        format!("{}rooms#{uid}", self.prefix)
    }

    fn claim(&self, uid: &str) -> String {
        format!("{}reaped#{uid}", self.prefix)
    }
}

impl RedisAdapter {
    /// Records this node's `tracked` rooms in Redis at each heartbeat, and claims the rooms of
    /// dead nodes; answers the receiver of the dead nodes this node claims.
    pub fn track_rooms(&self, tracked: TrackedRooms) -> mpsc::Receiver<DeadNode> {
        let inner = self.inner();
        let (dead, receiver) = mpsc::channel(DEAD_QUEUE);
        self.heartbeats().after_each_beat(Box::new(NodeRooms {
            keys: Keys::new(&inner.options.key),
            uid: inner.uid.clone(),
            inner: Arc::downgrade(inner),
            tracked,
            written: None,
            last_beat: None,
            failing: false,
            dead,
        }));
        receiver
    }
}

/// The tracked rooms' work, done by the heartbeat task after each heartbeat.
struct NodeRooms {
    keys: Keys,
    uid: String,
    inner: Weak<Inner>,
    tracked: TrackedRooms,
    /// The tracked rooms as Redis has them, `None` when unknown (start, after an error or a gap).
    written: Option<BTreeSet<String>>,
    /// This node's previous heartbeat (ms, Redis clock).
    last_beat: Option<u64>,
    /// Whether the last attempt failed (to log a failure and a recovery once).
    failing: bool,
    dead: mpsc::Sender<DeadNode>,
}

impl AfterBeat for NodeRooms {
    fn after_beat<'a>(&'a mut self, heartbeats: &'a Heartbeats, now: u64) -> BoxFuture<'a, bool> {
        self.track(heartbeats, now).boxed()
    }
}

impl NodeRooms {
    /// The work after this node's heartbeat written at `now` (ms, Redis clock); `false` once the
    /// adapter is gone and there is nothing left to track.
    async fn track(&mut self, heartbeats: &Heartbeats, now: u64) -> bool {
        let Some(rooms) = self.tracked_rooms() else {
            return false;
        };
        let silent = self
            .last_beat
            .map_or(u64::MAX, |last| now.saturating_sub(last));
        if silent > NODE_TTL.as_millis() as u64 {
            // Taken for dead meanwhile: a survivor may have claimed the rooms Redis had.
            self.written = None;
        }
        self.last_beat = Some(now);
        match self.work(heartbeats, rooms).await {
            Ok(()) => {
                if self.failing {
                    tracing::info!("presence rooms in Redis written again");
                }
                self.failing = false;
            }
            Err(error) => {
                if !self.failing {
                    tracing::warn!(%error, "cannot write this node's presence rooms to Redis");
                }
                self.failing = true;
                self.written = None;
            }
        }
        true
    }

    /// This node's tracked rooms now; `None` once the adapter is gone.
    fn tracked_rooms(&self) -> Option<BTreeSet<String>> {
        let inner = self.inner.upgrade()?;
        let rooms = lock(&inner.mirror).rooms(&self.tracked.nsp);
        Some(
            rooms
                .iter()
                .map(|room| room.to_string())
                .filter(|room| self.tracked.prefixes.iter().any(|p| room.starts_with(p)))
                .collect(),
        )
    }

    /// Writes the tracked rooms, then claims the dead nodes.
    async fn work(
        &mut self,
        heartbeats: &Heartbeats,
        rooms: BTreeSet<String>,
    ) -> Result<(), RedisError> {
        let link = heartbeats.link();
        let rooms_key = self.keys.rooms(&self.uid);
        let mut write = redis::pipe();
        write.atomic();
        let changed = self.written.as_ref() != Some(&rooms);
        if changed {
            write.del(&rooms_key).ignore();
            if !rooms.is_empty() {
                write
                    .sadd(&rooms_key, rooms.iter().collect::<Vec<_>>())
                    .ignore();
            }
        }
        write
            .cmd("PEXPIRE")
            .arg(&rooms_key)
            .arg(millis(ROOMS_TTL))
            .ignore();
        let mut connection = link.connection().await?;
        link.check(write.query_async::<()>(&mut connection).await)?;
        if changed {
            self.written = Some(rooms);
        }
        for (uid, last_beat) in heartbeats.dead_nodes().await? {
            self.claim(heartbeats, uid, last_beat).await?;
        }
        Ok(())
    }

    /// Claims a dead node's death; if this node won, hands its rooms over.
    async fn claim(
        &self,
        heartbeats: &Heartbeats,
        uid: String,
        last_beat: u64,
    ) -> Result<(), RedisError> {
        let link = heartbeats.link();
        let mut connection = link.connection().await?;
        let claimed: Option<Vec<String>> = link.check(
            redis::cmd("EVAL")
                .arg(CLAIM_SCRIPT)
                .arg(3)
                .arg(&self.keys.heartbeats)
                .arg(self.keys.claim(&uid))
                .arg(self.keys.rooms(&uid))
                .arg(&uid)
                .arg(last_beat)
                .arg(millis(CLAIM_TTL))
                .query_async(&mut connection)
                .await,
        )?;
        let Some(mut rooms) = claimed else {
            return Ok(());
        };
        rooms.sort();
        tracing::warn!(node = %uid, rooms = rooms.len(), "a cluster node stopped beating: taking over its departures");
        if self.dead.try_send(DeadNode { uid, rooms }).is_err() {
            tracing::error!("dead nodes pile up unprocessed: one's departures are dropped");
        }
        Ok(())
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
