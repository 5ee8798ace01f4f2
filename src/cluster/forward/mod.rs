//! Any node serves any polling request: [`Forwarder`] carries a request of a session owned by
//! another node to that node over Redis and brings its answer back (no sticky sessions needed).
//!
//! A node's session ids start with its tag (`<tag>.<random>`, see
//! [`Sid::tagged`](crate::engineio::Sid::tagged)), so the node a request lands on knows the
//! owner without a directory. It PUBLISHes the request (method, query, the headers that change
//! the answer, the body bounded by `maxPayload`) on the owner's channel `<key>-forward#<tag>#`
//! with a correlation id; Redis answers how many subscribers got it, so a tag no live node
//! listens to (a dead node, a forged id) is answered "Session ID unknown" at once. The owner
//! serves it through the Engine's own polling handler and publishes status, headers and body on
//! the sender's channel. A client that goes away first has its request cancelled on the owner,
//! so a cut GET still ends the session's transport at once.
//!
//! By concern:
//! - `options`: the settings and their defaults;
//! - `wire`: the messages (a JSON header line, then the raw body);
//! - `state`: what the parts share, and publishing;
//! - `sender`: this node's requests, waiting for their answers, bounded in number;
//! - `owner`: other nodes' requests, served here;
//! - `relay_entry`, `relay_owner`: WebSocket upgrades relayed from the node they reached to the
//!   session's owner, each direction an `outbox` publishing its frames in order; `relay_watch`
//!   ends the relays of a node that died while they were quiet;
//! - `listener`: the subscription that feeds them all, reconnected with backoff.

mod listener;
mod options;
mod outbox;
mod owner;
mod relay_entry;
mod relay_owner;
mod relay_watch;
mod sender;
mod state;
mod wire;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use futures_util::future::BoxFuture;
use rand::RngCore;
use redis::aio::{PubSubSink, PubSubStream};
use redis::{AsyncConnectionConfig, Client};
use tokio::sync::Semaphore;

use super::connection::{redact, with_timeout};
use super::ClusterError;
use crate::engineio::{
    Engine, ForwardError, ForwardedRequest, ForwardedResponse, RelayDownlink, RelayUplink,
    SessionRouter,
};
use crate::sync::lock;
pub use options::{
    ForwardOptions, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_RELAYS, DEFAULT_MAX_SERVED,
    DEFAULT_RELAY_MAX_BYTES, DEFAULT_RELAY_MAX_FRAMES, FORWARD_SLACK,
};
pub use relay_watch::RELAY_WATCH;
use state::Shared;

/// Random bytes of a node tag (8 URL-safe characters).
const TAG_BYTES: usize = 6;
/// This node's [`SessionRouter`] in a Redis cluster: give it to [`Engine::with_router`], then
/// call [`Forwarder::serve`] with that Engine.
#[derive(Clone)]
pub struct Forwarder {
    shared: Arc<Shared>,
    /// The subscription, until [`Forwarder::serve`] hands it to the listener task.
    subscription: Arc<Mutex<Option<(PubSubSink, PubSubStream)>>>,
}

impl Forwarder {
    /// Connects to Redis under a fresh node tag and subscribes its channel.
    pub async fn connect(url: &str, options: ForwardOptions) -> Result<Forwarder, ClusterError> {
        let shown = redact(url);
        let client = Client::open(url).map_err(|source| ClusterError::InvalidUrl {
            url: shown.clone(),
            source,
        })?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.connect_timeout));
        let publisher = with_timeout(
            options.connect_timeout,
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .map_err(|error| error.into_cluster_error(&shown))?;
        let mut tag = [0u8; TAG_BYTES];
        rand::thread_rng().fill_bytes(&mut tag);
        let shared = Arc::new(Shared {
            tag: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag),
            in_flight: Arc::new(Semaphore::new(options.max_in_flight)),
            options,
            client,
            config,
            publisher: Mutex::new(Some(publisher)),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            served: Mutex::new(HashMap::new()),
            entries: Mutex::new(HashMap::new()),
            owned: Mutex::new(HashMap::new()),
        });
        let subscription = listener::subscribe(&shared).await.map_err(|reason| {
            tracing::error!(%reason, "cannot subscribe the forwarding channel");
            ClusterError::Disconnected
        })?;
        Ok(Forwarder {
            shared,
            subscription: Arc::new(Mutex::new(Some(subscription))),
        })
    }

    /// Starts serving other nodes' requests for `engine`'s sessions and receiving the answers to
    /// this node's (once; later calls do nothing).
    pub fn serve(&self, engine: Engine) {
        let Some(subscription) = lock(&self.subscription).take() else {
            return;
        };
        actix_rt::spawn(listener::run(
            Arc::clone(&self.shared),
            engine,
            subscription,
        ));
        actix_rt::spawn(relay_watch::run(Arc::clone(&self.shared)));
    }
}

impl SessionRouter for Forwarder {
    fn node_tag(&self) -> &str {
        &self.shared.tag
    }

    fn forward(
        &self,
        owner: &str,
        request: ForwardedRequest,
    ) -> BoxFuture<'static, Result<ForwardedResponse, ForwardError>> {
        Box::pin(sender::forward(
            Arc::clone(&self.shared),
            owner.to_string(),
            request,
        ))
    }

    fn relay(
        &self,
        owner: &str,
        sid: &str,
        client: RelayDownlink,
    ) -> Result<Box<dyn RelayUplink>, ForwardError> {
        relay_entry::open(&self.shared, owner, sid, client)
    }
}
