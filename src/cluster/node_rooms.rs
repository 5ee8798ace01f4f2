//! Each node's presence rooms in Redis, kept with a beat of their own, and handed to one surviving
//! node when that beat stops: what a node that died left behind. (Connection state recovery has
//! its own heartbeats in `heartbeat`; the two were written at once by two helpers and are to be
//! made one.)
//!
//! Every [`NODE_ROOMS_INTERVAL`] each node, in one MULTI:
//! - sets `<key>#agora#node#<uid>` with a time to live of [`NODE_ROOMS_TTL`] (its heartbeat),
//! - adds its uid to the set `<key>#agora#nodes`,
//! - writes its *tracked rooms* (rooms of one namespace whose names start with given prefixes,
//!   e.g. the apps' presence rooms) to the set `<key>#agora#rooms#<uid>` when they changed since
//!   the last write, and keeps that set for [`ROOMS_TTL`].
//!
//! Then it looks for nodes in `<key>#agora#nodes` whose heartbeat expired. The first node to
//! claim a dead one (`SET <key>#agora#reaped#<uid> NX`) reads its tracked rooms, deletes its keys
//! and hands the rooms to its [`DeadNode`] receiver; every other node skips it. So a node killed
//! without a word is noticed within [`NODE_ROOMS_TTL`] + [`NODE_ROOMS_INTERVAL`], once.
//!
//! Trade-offs: a node cut from Redis for longer than [`NODE_ROOMS_TTL`] is taken for dead (its
//! rooms are handed over while its sockets may still live; it registers again when Redis is
//! back); a claimant that dies between its claim and its work loses that node's rooms.

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisError};
use tokio::sync::mpsc;

use super::adapter::RedisAdapter;
use super::connection::redact;
use super::state::Inner;
use super::ClusterError;
use crate::sync::lock;

/// How often a node refreshes its heartbeat (and looks for dead nodes).
pub const NODE_ROOMS_INTERVAL: Duration = Duration::from_secs(2);
/// How long a heartbeat lasts: a node silent this long is dead.
pub const NODE_ROOMS_TTL: Duration = Duration::from_secs(6);
/// How long a node's tracked rooms outlive its last heartbeat when no node claims them (a
/// cluster that stopped whole leaves nothing behind for good).
pub const ROOMS_TTL: Duration = Duration::from_secs(300);
/// How long a claim on a dead node is kept (long past the work it guards).
const CLAIM_TTL: Duration = Duration::from_secs(60);
/// Most dead nodes' rooms waiting for their receiver; beyond that they are dropped (logged).
const DEAD_QUEUE: usize = 64;

/// Which rooms a node records in Redis for the node that will notice its death.
#[derive(Debug, Clone)]
pub struct TrackedRooms {
    /// The namespace.
    pub nsp: String,
    /// Rooms whose name starts with one of these are recorded.
    pub prefixes: Vec<String>,
}

/// A node whose heartbeat expired, claimed by this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadNode {
    /// Its uid in the cluster.
    pub uid: String,
    /// Its tracked rooms at its last write.
    pub rooms: Vec<String>,
}

/// The Redis key names of the heartbeats under one cluster key.
#[derive(Debug, Clone)]
struct Keys {
    prefix: String,
}

impl Keys {
    fn new(key: &str) -> Keys {
        Keys {
            prefix: format!("{key}#agora#"),
        }
    }

    fn nodes(&self) -> String {
        format!("{}nodes", self.prefix)
    }

    fn heartbeat(&self, uid: &str) -> String {
        format!("{}node#{uid}", self.prefix)
    }

    fn rooms(&self, uid: &str) -> String {
        format!("{}rooms#{uid}", self.prefix)
    }

    fn claim(&self, uid: &str) -> String {
        format!("{}reaped#{uid}", self.prefix)
    }
}

/// This node's heartbeat, started by [`RedisAdapter::start_heartbeat`]; asks Redis which nodes
/// are alive.
#[derive(Clone)]
pub struct NodeRooms {
    client: Client,
    config: AsyncConnectionConfig,
    keys: Keys,
}

impl NodeRooms {
    /// Reads the heartbeats of the cluster `key` at `url` (it does not beat itself: see
    /// [`RedisAdapter::start_heartbeat`]).
    pub fn open(url: &str, key: &str) -> Result<NodeRooms, ClusterError> {
        let client = Client::open(url).map_err(|source| ClusterError::InvalidUrl {
            url: redact(url),
            source,
        })?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(NODE_ROOMS_INTERVAL))
            .set_response_timeout(Some(NODE_ROOMS_INTERVAL));
        Ok(NodeRooms {
            client,
            config,
            keys: Keys::new(key),
        })
    }

    /// The uids of the Agora nodes whose heartbeat is current (this one included), sorted.
    pub async fn live_nodes(&self) -> Result<Vec<String>, ClusterError> {
        let mut conn = self.connect().await?;
        let (_, live) = self.partition(&mut conn).await.map_err(connect_error)?;
        Ok(live)
    }

    async fn connect(&self) -> Result<MultiplexedConnection, ClusterError> {
        let attempt = self
            .client
            .get_multiplexed_async_connection_with_config(&self.config);
        match tokio::time::timeout(NODE_ROOMS_INTERVAL, attempt).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(error)) => Err(connect_error(error)),
            Err(_) => Err(ClusterError::Disconnected),
        }
    }

    /// The registered nodes split into (dead, alive), each sorted.
    async fn partition(
        &self,
        conn: &mut MultiplexedConnection,
    ) -> Result<(Vec<String>, Vec<String>), RedisError> {
        let mut nodes: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.nodes())
            .query_async(conn)
            .await?;
        nodes.sort();
        if nodes.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut exists = redis::pipe();
        for uid in &nodes {
            exists.exists(self.keys.heartbeat(uid));
        }
        let alive: Vec<bool> = exists.query_async(conn).await?;
        let (live, dead): (Vec<_>, Vec<_>) =
            nodes.into_iter().zip(alive).partition(|(_, alive)| *alive);
        let names = |pairs: Vec<(String, bool)>| pairs.into_iter().map(|(uid, _)| uid).collect();
        Ok((names(dead), names(live)))
    }
}

fn connect_error(error: RedisError) -> ClusterError {
    ClusterError::Connect {
        url: "(heartbeat)".to_string(),
        source: error,
    }
}

impl RedisAdapter {
    /// Starts this node's heartbeat at `url` (the cluster's Redis), recording the `tracked`
    /// rooms; answers the heartbeat (for [`NodeRooms::live_nodes`]) and the receiver of the
    /// dead nodes this node claims.
    pub fn start_heartbeat(
        &self,
        url: &str,
        tracked: TrackedRooms,
    ) -> Result<(NodeRooms, mpsc::Receiver<DeadNode>), ClusterError> {
        let inner = self.inner();
        let heartbeat = NodeRooms::open(url, &inner.options.key)?;
        let (dead, receiver) = mpsc::channel(DEAD_QUEUE);
        let beat = Beat {
            heartbeat: heartbeat.clone(),
            uid: inner.uid.clone(),
            inner: Arc::downgrade(inner),
            tracked,
            written: None,
            dead,
        };
        actix_rt::spawn(beat.run());
        Ok((heartbeat, receiver))
    }
}

/// The heartbeat task's state.
struct Beat {
    heartbeat: NodeRooms,
    uid: String,
    inner: Weak<Inner>,
    tracked: TrackedRooms,
    /// The tracked rooms as Redis has them, `None` when unknown (start, after an error).
    written: Option<BTreeSet<String>>,
    dead: mpsc::Sender<DeadNode>,
}

impl Beat {
    /// Beats until the adapter is dropped; reconnects after a failure on the next beat.
    async fn run(mut self) {
        let mut ticks = tokio::time::interval(NODE_ROOMS_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut conn: Option<MultiplexedConnection> = None;
        let mut failing = false;
        loop {
            ticks.tick().await;
            let Some(rooms) = self.tracked_rooms() else {
                return;
            };
            if conn.is_none() {
                conn = self.heartbeat.connect().await.ok();
            }
            let Some(connection) = conn.as_mut() else {
                self.written = None;
                continue;
            };
            match self.beat(connection, rooms).await {
                Ok(()) => {
                    if failing {
                        tracing::info!("node heartbeat in Redis resumed");
                    }
                    failing = false;
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "cannot write this node's heartbeat to Redis");
                    }
                    failing = true;
                    self.written = None;
                    conn = None;
                }
            }
        }
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

    /// One beat: the heartbeat and the tracked rooms, then the dead nodes' claims.
    async fn beat(
        &mut self,
        conn: &mut MultiplexedConnection,
        rooms: BTreeSet<String>,
    ) -> Result<(), RedisError> {
        let keys = &self.heartbeat.keys;
        let rooms_key = keys.rooms(&self.uid);
        let mut write = redis::pipe();
        write
            .atomic()
            .cmd("SET")
            .arg(keys.heartbeat(&self.uid))
            .arg(1)
            .arg("PX")
            .arg(millis(NODE_ROOMS_TTL))
            .ignore()
            .sadd(keys.nodes(), &self.uid)
            .ignore();
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
        write.query_async::<()>(conn).await?;
        if changed {
            self.written = Some(rooms);
        }
        let (dead, _) = self.heartbeat.partition(conn).await?;
        for uid in dead.into_iter().filter(|uid| *uid != self.uid) {
            self.reap(conn, uid).await?;
        }
        Ok(())
    }

    /// Claims a dead node; if this node won, hands its rooms over and clears its keys.
    async fn reap(&self, conn: &mut MultiplexedConnection, uid: String) -> Result<(), RedisError> {
        let keys = &self.heartbeat.keys;
        let claimed: Option<String> = redis::cmd("SET")
            .arg(keys.claim(&uid))
            .arg(&self.uid)
            .arg("NX")
            .arg("PX")
            .arg(millis(CLAIM_TTL))
            .query_async(conn)
            .await?;
        if claimed.is_none() {
            return Ok(());
        }
        let rooms_key = keys.rooms(&uid);
        let mut rooms: Vec<String> = redis::cmd("SMEMBERS")
            .arg(&rooms_key)
            .query_async(conn)
            .await?;
        rooms.sort();
        redis::pipe()
            .atomic()
            .del(&rooms_key)
            .ignore()
            .srem(keys.nodes(), &uid)
            .ignore()
            .query_async::<()>(conn)
            .await?;
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
