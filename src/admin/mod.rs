//! The official Socket.IO Admin UI (`@socket.io/admin-ui` 0.5): the `/admin` namespace speaks its
//! protocol, so its UI (served at `/admin/`, or the hosted one) can watch and steer the server.
//!
//! Nothing in the Socket.IO layer knows of it. It watches through two decorators: one over the
//! [`Adapter`] (sockets, rooms, events) and one over the Engine.IO handler (sessions and their
//! handshakes). What they see goes to a bounded [`feed::Feed`], broadcast to the `/admin`
//! namespace through the adapter — which, with `--redis-url`, reaches the admins connected to any
//! node, as does every node's `server_stats`.

mod credentials;
mod engine_hook;
mod feed;
mod gate;
mod namespace;
mod observer;
mod operations;
mod pump;
mod registry;
mod state;
mod stats;
mod time;

use std::sync::{Arc, Mutex};

use crate::engineio::EngineHandler;
use crate::socketio::{Adapter, NamespaceBuilder, SocketIo};
use crate::sync::lock;

pub use credentials::CredentialsError;
pub use feed::{FEED_CAPACITY, MAX_EVENT_ARGS_BYTES};
pub use gate::{ATTEMPT_WINDOW, MAX_ATTEMPTS};
pub use state::{ADMIN_NAMESPACE, MAX_LISTED_SOCKETS};
pub use stats::STATS_INTERVAL;

/// The admin's settings.
#[derive(Clone)]
pub struct AdminOptions {
    /// The user name the UI logs in with.
    pub username: String,
    /// The password, plain or a bcrypt hash (`$2a$`, `$2b$`, `$2y$`).
    pub password: String,
    /// Refuse the operations (emit, join, leave, disconnect): watch only.
    pub readonly: bool,
}

/// The admin: build it, let it observe the adapter and the Engine.IO handler, add its namespace,
/// then start it once the server listens.
pub struct Admin {
    state: Arc<state::AdminState>,
    receiver: Mutex<Option<feed::FeedReceiver>>,
}

impl Admin {
    /// An admin with these settings; fails on unusable credentials.
    pub fn new(options: AdminOptions) -> Result<Admin, CredentialsError> {
        let credentials = credentials::Credentials::new(&options.username, &options.password)?;
        let (feed, receiver) = feed::Feed::new();
        Ok(Admin {
            state: Arc::new(state::AdminState {
                gate: gate::Gate::new(credentials),
                registry: Arc::default(),
                feed,
                readonly: options.readonly,
                adapter: Default::default(),
                io: Default::default(),
                namespaces: Default::default(),
            }),
            receiver: Mutex::new(Some(receiver)),
        })
    }

    /// The adapter to build the server with: `inner`, watched.
    pub fn observe(&self, inner: Arc<dyn Adapter>) -> Arc<dyn Adapter> {
        let observed = Arc::new(observer::ObservedAdapter::new(
            inner,
            Arc::clone(&self.state.registry),
            self.state.feed.clone(),
            ADMIN_NAMESPACE,
        ));
        let _ = self.state.adapter.set(Arc::clone(&observed));
        observed
    }

    /// The `/admin` namespace, to add to the server.
    pub fn namespace(&self) -> NamespaceBuilder {
        namespace::builder(Arc::clone(&self.state))
    }

    /// The Engine.IO handler to serve with: the server's, watched.
    pub fn observe_engine(&self, io: &SocketIo) -> Arc<dyn EngineHandler> {
        let _ = self.state.io.set(io.clone());
        Arc::new(engine_hook::ObservedHandler::new(
            Arc::new(io.clone()),
            Arc::clone(&self.state.registry),
            self.state.feed.clone(),
        ))
    }

    /// Starts the feed and `server_stats` (as `hostname:port`, listing `namespaces`). Call once,
    /// after [`Admin::observe_engine`]; later calls do nothing.
    pub fn start(&self, port: u16, namespaces: &[&str]) {
        let Some(receiver) = lock(&self.receiver).take() else {
            return;
        };
        let namespaces: Vec<String> = namespaces.iter().map(|n| n.to_string()).collect();
        let _ = self.state.namespaces.set(namespaces.clone());
        let stats = stats::ServerStats::new(port, Arc::clone(&self.state.registry), namespaces);
        actix_rt::spawn(pump::pump(Arc::clone(&self.state), receiver));
        actix_rt::spawn(pump::report_stats(Arc::clone(&self.state), stats));
    }
}
