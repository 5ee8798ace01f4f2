//! [`AdminState`]: what the admin namespace, the feed pump and the stats loop share, and the
//! socket list (`all_sockets`) they send.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use super::feed::Feed;
use super::gate::Gate;
use super::observer::ObservedAdapter;
use super::registry::{describe_remote, Registry};
use crate::socketio::{BroadcastOperator, Payload, SocketIo};

/// The namespace the admin UI connects to.
pub const ADMIN_NAMESPACE: &str = "/admin";
/// Most sockets listed in one `all_sockets` (the UI lists them all in one table).
pub const MAX_LISTED_SOCKETS: usize = 10_000;

/// What the admin's parts share.
pub struct AdminState {
    /// Who may connect.
    pub gate: Gate,
    /// This node's clients and sockets.
    pub registry: Arc<Registry>,
    /// This node's admin events.
    pub feed: Feed,
    /// Operations refused.
    pub readonly: bool,
    /// The adapter decorator (set when the adapter is observed).
    pub adapter: OnceLock<Arc<ObservedAdapter>>,
    /// The server (set once built).
    pub io: OnceLock<SocketIo>,
    /// The namespaces listed (set once started).
    pub namespaces: OnceLock<Vec<String>>,
}

impl AdminState {
    /// Every admin of the cluster, when the server is there.
    pub fn admins(&self) -> Option<BroadcastOperator> {
        self.io.get()?.of(ADMIN_NAMESPACE)
    }

    /// Emits an event to every admin of the cluster.
    pub fn tell_admins(&self, event: &str, args: Vec<Value>) {
        if let Some(admins) = self.admins() {
            if let Err(error) = admins.emit(event, Payload::new(args)) {
                tracing::warn!(%error, event, "cannot emit to the admins");
            }
        }
    }

    /// The sockets of every namespace as `all_sockets` lists them: this node's described in
    /// full, those of other nodes of a cluster by id (with the room of their id).
    pub async fn all_sockets(&self) -> Vec<Value> {
        let (Some(io), Some(namespaces)) = (self.io.get(), self.namespaces.get()) else {
            return Vec::new();
        };
        let mut listed = Vec::new();
        for nsp in namespaces {
            let local = self.registry.sockets_of(nsp);
            let known: HashSet<String> = local
                .iter()
                .filter_map(|socket| socket["id"].as_str().map(str::to_string))
                .collect();
            listed.extend(local);
            if let Some(everyone) = io.of(nsp) {
                let ids = everyone.sockets().await;
                listed.extend(
                    ids.iter()
                        .filter(|id| !known.contains(id.as_str()))
                        .map(|id| describe_remote(nsp, id.as_str())),
                );
            }
            if listed.len() > MAX_LISTED_SOCKETS {
                tracing::warn!(
                    max = MAX_LISTED_SOCKETS,
                    "too many sockets for the admin UI: the list is cut"
                );
                listed.truncate(MAX_LISTED_SOCKETS);
                break;
            }
        }
        listed
    }
}
