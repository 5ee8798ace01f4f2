//! The Redis connections: opening them, the publisher task (PUBLISH in pipelined batches,
//! PUBSUB NUMSUB) fed by a bounded queue, reconnection with backoff and health checks.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use redis::{AsyncConnectionConfig, Client, RedisError};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::wire::Channels;
use super::{ClusterError, ClusterOptions, ClusterStatus};

/// How often an idle connection is checked with a PING.
pub(super) const HEALTH_INTERVAL: Duration = Duration::from_secs(5);
/// Longest wait between two reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3);
/// Most messages sent to Redis in one pipeline.
const MAX_BATCH: usize = 256;

/// Work for the publisher task.
pub(super) enum Outgoing {
    Publish {
        channel: String,
        payload: Vec<u8>,
    },
    /// How many nodes listen on `channel` (PUBSUB NUMSUB).
    NumSub {
        channel: String,
        reply: oneshot::Sender<Option<usize>>,
    },
}

/// Work for the subscriber task: listen to a namespace's channels.
pub(super) struct Subscribe {
    /// The namespace.
    pub(super) nsp: Arc<str>,
    /// Told whether Redis confirmed the subscription.
    pub(super) done: Option<oneshot::Sender<bool>>,
}

/// Subscribes a namespace's broadcast pattern, request channel and response channels.
pub(super) async fn subscribe_namespace(
    sink: &mut PubSubSink,
    channels: &Channels,
    nsp: &str,
    uid: &str,
) -> Result<(), RedisError> {
    sink.psubscribe(channels.broadcast_pattern(nsp)).await?;
    sink.subscribe(&[
        channels.request(nsp),
        channels.response(nsp),
        channels.specific_response(nsp, uid),
    ])
    .await
}

/// The timeouts of a Redis connection.
pub(super) fn connection_config(options: &ClusterOptions) -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(options.connect_timeout))
        .set_response_timeout(Some(options.connect_timeout))
}

/// Opens a pub/sub connection, split into what sends commands and what receives messages.
pub(super) async fn open_pubsub(
    client: &Client,
    timeout: Duration,
) -> Result<(PubSubSink, PubSubStream), ConnectFailure> {
    let pubsub = with_timeout(timeout, client.get_async_pubsub()).await?;
    Ok(pubsub.split())
}

/// A connection attempt that failed or took too long.
pub(super) enum ConnectFailure {
    Redis(RedisError),
    Timeout,
}

impl ConnectFailure {
    pub(super) fn into_cluster_error(self, url: &str) -> ClusterError {
        let url = url.to_string();
        match self {
            ConnectFailure::Redis(source) => ClusterError::Connect { url, source },
            ConnectFailure::Timeout => ClusterError::Timeout { url },
        }
    }
}

impl std::fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectFailure::Redis(error) => error.fmt(f),
            ConnectFailure::Timeout => f.write_str("timed out"),
        }
    }
}

pub(super) async fn with_timeout<T>(
    timeout: Duration,
    future: impl std::future::Future<Output = Result<T, RedisError>>,
) -> Result<T, ConnectFailure> {
    match tokio::time::timeout(timeout, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(ConnectFailure::Redis(error)),
        Err(_) => Err(ConnectFailure::Timeout),
    }
}

/// Doubling waits between reconnection attempts, up to [`MAX_BACKOFF`].
pub(super) struct Backoff(Duration);

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);

    pub(super) fn new() -> Backoff {
        Backoff(Backoff::FIRST)
    }

    pub(super) fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
        wait
    }

    pub(super) fn reset(&mut self) {
        self.0 = Backoff::FIRST;
    }
}

/// Does this error mean the connection is gone (rather than one command refused)?
fn connection_lost(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_timeout()
        || error.is_unrecoverable_error()
}

/// The publisher task: sends queued messages in pipelined batches; reconnects with backoff.
pub(super) async fn run_publisher(
    client: Client,
    connection: MultiplexedConnection,
    mut queue: mpsc::Receiver<Outgoing>,
    status: ClusterStatus,
    config: AsyncConnectionConfig,
) {
    let mut connection = Some(connection);
    let mut backoff = Backoff::new();
    let mut retry_at = Instant::now();
    let mut health = tokio::time::interval(HEALTH_INTERVAL);
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let connected = connection.is_some();
        tokio::select! {
            item = queue.recv() => {
                let Some(first) = item else { return };
                let batch = batch_after(first, &mut queue);
                let Some(conn) = connection.as_mut() else {
                    drop_batch(batch, &status);
                    continue;
                };
                if let Err(error) = send_batch(conn, batch, &status).await {
                    if connection_lost(&error) {
                        tracing::warn!(%error, "lost the Redis publish connection; reconnecting");
                        connection = None;
                        status.set_publisher(false);
                        retry_at = Instant::now();
                    } else {
                        tracing::warn!(%error, "Redis refused a cluster message");
                    }
                }
            }
            _ = tokio::time::sleep_until(retry_at), if !connected => {
                let attempt = client.get_multiplexed_async_connection_with_config(&config);
                match tokio::time::timeout(config_timeout(), attempt).await {
                    Ok(Ok(conn)) => {
                        connection = Some(conn);
                        status.set_publisher(true);
                        status.count_reconnect();
                        backoff.reset();
                        tracing::info!("Redis publish connection re-established");
                    }
                    Ok(Err(error)) => {
                        tracing::debug!(%error, "Redis still unreachable (publish)");
                        retry_at = Instant::now() + backoff.next();
                    }
                    Err(_) => retry_at = Instant::now() + backoff.next(),
                }
            }
            _ = health.tick(), if connected => {
                if let Some(conn) = connection.as_mut() {
                    let ping = redis::cmd("PING").query_async::<redis::Value>(conn).await;
                    if let Err(error) = ping.as_ref() {
                        if connection_lost(error) {
                            tracing::warn!(%error, "lost the Redis publish connection; reconnecting");
                            connection = None;
                            status.set_publisher(false);
                            retry_at = Instant::now();
                        }
                    }
                }
            }
        }
    }
}

/// Upper bound of one reconnection attempt of the publisher (the config's own timeouts apply
/// inside it; this guards the whole attempt).
fn config_timeout() -> Duration {
    Duration::from_secs(10)
}

fn drop_batch(batch: Vec<Outgoing>, status: &ClusterStatus) {
    let mut dropped = 0;
    for item in batch {
        match item {
            Outgoing::Publish { .. } => dropped += 1,
            Outgoing::NumSub { reply, .. } => {
                let _ = reply.send(None);
            }
        }
    }
    status.count_dropped(dropped);
}

/// Sends a batch in order: runs of PUBLISH as one pipeline, NUMSUB queries one by one.
async fn send_batch(
    conn: &mut MultiplexedConnection,
    batch: Vec<Outgoing>,
    status: &ClusterStatus,
) -> Result<(), RedisError> {
    let mut pipe = redis::pipe();
    let mut queued = 0u64;
    for item in batch {
        match item {
            Outgoing::Publish { channel, payload } => {
                pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
                queued += 1;
            }
            Outgoing::NumSub { channel, reply } => {
                if queued > 0 {
                    flush(conn, &mut pipe, &mut queued, status).await?;
                }
                let count = redis::cmd("PUBSUB")
                    .arg("NUMSUB")
                    .arg(&channel)
                    .query_async::<(String, usize)>(conn)
                    .await;
                match count {
                    Ok((_, count)) => {
                        let _ = reply.send(Some(count));
                    }
                    Err(error) => {
                        let _ = reply.send(None);
                        return Err(error);
                    }
                }
            }
        }
    }
    if queued > 0 {
        flush(conn, &mut pipe, &mut queued, status).await?;
    }
    Ok(())
}

/// Sends the queued PUBLISH commands as one pipeline, counting them published or dropped.
async fn flush(
    conn: &mut MultiplexedConnection,
    pipe: &mut redis::Pipeline,
    queued: &mut u64,
    status: &ClusterStatus,
) -> Result<(), RedisError> {
    let result = pipe.query_async::<()>(conn).await;
    match &result {
        Ok(()) => {
            status.count_published(*queued);
        }
        Err(_) => status.count_dropped(*queued),
    }
    pipe.clear();
    *queued = 0;
    result
}

/// The URL without its password, for logs and errors.
pub(super) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}"),
        None => url.to_string(),
    }
}

/// `first` and whatever else waits in `queue` right now, up to [`MAX_BATCH`] items: one pipelined
/// round trip instead of one per item.
pub(super) fn batch_after<T>(first: T, queue: &mut mpsc::Receiver<T>) -> Vec<T> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(item) => batch.push(item),
            Err(_) => break,
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(
            redact("redis://:secret@redis:6379/0"),
            "redis://***@redis:6379/0"
        );
        assert_eq!(redact("nonsense"), "nonsense");
    }

    #[test]
    fn backs_off_up_to_the_ceiling() {
        let mut backoff = Backoff::new();
        let waits: Vec<Duration> = (0..8).map(|_| backoff.next()).collect();
        assert_eq!(waits[0], Duration::from_millis(100));
        assert_eq!(waits[1], Duration::from_millis(200));
        assert_eq!(*waits.last().unwrap(), MAX_BACKOFF);
        backoff.reset();
        assert_eq!(backoff.next(), Duration::from_millis(100));
    }
}
