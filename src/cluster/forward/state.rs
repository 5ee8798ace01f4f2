//! [`Shared`]: what the forwarder's requests, its listener task and its served requests share,
//! and how they publish to another node.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};
use tokio::sync::{oneshot, Semaphore};
use tokio::task::AbortHandle;

use super::options::ForwardOptions;
use super::wire::{self, Header};
use crate::engineio::RelayDownlink;
use crate::engineio::{ForwardError, ForwardedResponse, RelayedSocket};
use crate::sync::lock;

/// A request another node forwarded here, while it is served: (that node's tag, its request id).
pub(super) type ServedKey = (String, u64);

/// What the forwarder's parts share.
pub(super) struct Shared {
    /// This node's tag: the prefix of its session ids and the name of its channel.
    pub(super) tag: String,
    /// The settings.
    pub(super) options: ForwardOptions,
    /// Reopens the publishing connection after it failed.
    pub(super) client: Client,
    /// The connection's timeouts.
    pub(super) config: AsyncConnectionConfig,
    /// The publishing connection; `None` after a failure, until the next publish reopens it.
    pub(super) publisher: Mutex<Option<MultiplexedConnection>>,
    /// This node's requests waiting for their owner's answer, by request id.
    pub(super) pending: Mutex<HashMap<u64, oneshot::Sender<ForwardedResponse>>>,
    /// The next request id.
    pub(super) next_id: AtomicU64,
    /// Permits for this node's requests in flight ([`ForwardOptions::max_in_flight`]).
    pub(super) in_flight: Arc<Semaphore>,
    /// Other nodes' requests being served here, so a cancellation can stop them.
    pub(super) served: Mutex<HashMap<ServedKey, AbortHandle>>,
    /// WebSockets of other nodes' sessions accepted here, by relay id.
    pub(super) entries: Mutex<HashMap<u64, EntryRelay>>,
    /// WebSockets accepted by other nodes for this node's sessions, by (that node's tag, its
    /// relay id).
    pub(super) owned: Mutex<HashMap<ServedKey, RelayedSocket>>,
}

impl Shared {
    /// Whether this node relays as many WebSockets as it may (as entry and as owner).
    pub(super) fn relays_full(&self) -> bool {
        let relays = lock(&self.entries).len() + lock(&self.owned).len();
        relays >= self.options.max_relays
    }

    /// Publishes a message to the node tagged `to`; answers how many listened (0: no such node).
    pub(super) async fn publish(
        &self,
        to: &str,
        header: &Header,
        body: &[u8],
    ) -> Result<usize, ForwardError> {
        let mut connection = self.connection().await?;
        let receivers = redis::cmd("PUBLISH")
            .arg(wire::channel(&self.options.key, to))
            .arg(wire::encode(header, body))
            .query_async::<usize>(&mut connection)
            .await;
        receivers.map_err(|error| {
            tracing::warn!(%error, "cannot publish a forwarded request or answer");
            // Reopened by the next publish: a refused command costs one reconnection at most.
            lock(&self.publisher).take();
            ForwardError::Unreachable
        })
    }

    /// How many subscribers each of `channels` has (PUBSUB NUMSUB), in order; `None` if Redis
    /// did not answer.
    pub(super) async fn subscribers(&self, channels: &[String]) -> Option<Vec<usize>> {
        let mut connection = self.connection().await.ok()?;
        let counts = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(channels)
            .query_async::<Vec<(String, usize)>>(&mut connection)
            .await;
        match counts {
            Ok(counts) => Some(counts.into_iter().map(|(_, count)| count).collect()),
            Err(error) => {
                tracing::debug!(%error, "cannot count the listeners of relayed nodes");
                None
            }
        }
    }

    /// The publishing connection, reopened if the last one failed.
    async fn connection(&self) -> Result<MultiplexedConnection, ForwardError> {
        if let Some(connection) = lock(&self.publisher).as_ref() {
            return Ok(connection.clone());
        }
        let opening = self
            .client
            .get_multiplexed_async_connection_with_config(&self.config);
        match tokio::time::timeout(self.options.connect_timeout, opening).await {
            Ok(Ok(connection)) => {
                *lock(&self.publisher) = Some(connection.clone());
                Ok(connection)
            }
            Ok(Err(error)) => {
                tracing::debug!(%error, "Redis unreachable for forwarding");
                Err(ForwardError::Unreachable)
            }
            Err(_) => Err(ForwardError::Unreachable),
        }
    }
}

/// A relay whose client is on this node.
pub(super) struct EntryRelay {
    /// The client's socket.
    pub(super) client: RelayDownlink,
    /// The tag of the session's node.
    pub(super) owner: String,
}
