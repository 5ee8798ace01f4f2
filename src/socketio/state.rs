//! The Socket.IO server's settings and the state its connections share.

// Small maps keyed by namespace name, looked up for every packet: a fast hash.
use foldhash::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::adapter::Adapter;
use super::dynamic::{DynamicNamespace, DEFAULT_MAX_CHILDREN};
use super::namespace::Namespace;
use super::parser::Parser;
use super::recovery::RecoveryConfig;

/// Default time a new connection has to join a namespace.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(45_000);
/// Default cap on binary attachments in one packet.
pub const DEFAULT_MAX_ATTACHMENTS: usize = 64;

/// Settings of the Socket.IO layer.
#[derive(Debug, Clone)]
pub struct SocketIoConfig {
    /// A connection that joins no namespace within this time is closed.
    pub connect_timeout: Duration,
    /// Packets announcing more attachments are refused and their connection closed.
    pub max_attachments: usize,
    /// Connection state recovery; off when `None`.
    pub recovery: Option<RecoveryConfig>,
    /// The wire format of every packet (`--parser`).
    pub parser: Parser,
    /// Most children one dynamic namespace may have at once; a CONNECT past that is refused as
    /// an unknown namespace.
    pub max_dynamic_children: usize,
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        SocketIoConfig {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_attachments: DEFAULT_MAX_ATTACHMENTS,
            recovery: None,
            parser: Parser::Default,
            max_dynamic_children: DEFAULT_MAX_CHILDREN,
        }
    }
}

/// What every connection of a server shares: its settings, namespaces and adapter.
pub(crate) struct ServerInner {
    pub(crate) config: SocketIoConfig,
    pub(crate) namespaces: HashMap<String, Arc<Namespace>>,
    pub(crate) adapter: Arc<dyn Adapter>,
    pub(crate) dynamic: Vec<DynamicNamespace>,
}

impl ServerInner {
    /// The namespace a CONNECT names: a static one, or the child of a dynamic namespace whose
    /// pattern matches (created if there is room).
    pub(crate) fn namespace_for_connect(&self, name: &str) -> Option<Arc<Namespace>> {
        if let Some(ns) = self.namespaces.get(name) {
            return Some(Arc::clone(ns));
        }
        self.dynamic.iter().find_map(|parent| parent.child(name))
    }
}
