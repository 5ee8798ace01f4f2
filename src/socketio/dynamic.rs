//! Dynamic namespaces (Node's `io.of(regex or function)`): a client's CONNECT to a name that
//! matches creates a child namespace with the parent's middlewares and handlers; emitting through
//! the parent ([`ParentBroadcast`]) reaches every child. Clients choose the names, so children are
//! bounded in number and name length, dropped once their last socket leaves, and counted in
//! metrics under the parent's name.

// Children keyed by name, looked up on every CONNECT: a fast hash.
use foldhash::HashMap;
use std::sync::{Arc, Mutex};

use super::adapter::Adapter;
use super::broadcast::BroadcastOperator;
use super::error::EmitError;
use super::namespace::{EmptyHook, Namespace, NamespaceBuilder};
use super::parser::Parser;
use super::payload::Payload;
use super::recovery::KeptSockets;
use super::types::Room;
use crate::sync::lock;

/// Default cap on the children of one dynamic namespace alive at once.
pub const DEFAULT_MAX_CHILDREN: usize = 1_000;
/// Longest child name, in bytes.
pub const MAX_CHILD_NAME_LEN: usize = 256;

/// Which namespace names belong to a dynamic namespace.
pub(crate) type Matcher = Arc<dyn Fn(&str) -> bool + Send + Sync>;

type Children = Arc<Mutex<HashMap<String, Arc<Namespace>>>>;

/// What a dynamic namespace's children are built with: the server's adapter, kept sockets and
/// parser, and how many children may live at once.
pub(crate) struct ChildSettings {
    pub(crate) adapter: Arc<dyn Adapter>,
    pub(crate) recovery: Option<Arc<KeptSockets>>,
    pub(crate) parser: Parser,
    pub(crate) max_children: usize,
}

/// A dynamic namespace: its pattern, the handlers its children get, and the children alive now.
pub(crate) struct DynamicNamespace {
    matches: Matcher,
    template: NamespaceBuilder,
    settings: ChildSettings,
    children: Children,
}

impl DynamicNamespace {
    pub(crate) fn new(
        matches: Matcher,
        template: NamespaceBuilder,
        settings: ChildSettings,
    ) -> DynamicNamespace {
        DynamicNamespace {
            matches,
            template,
            settings,
            children: Children::default(),
        }
    }

    /// The name the parent was given (its metric label).
    pub(crate) fn name(&self) -> &str {
        self.template.name()
    }

    /// The child called `name`, created if the name matches and there is room; `None` otherwise.
    pub(crate) fn child(&self, name: &str) -> Option<Arc<Namespace>> {
        if name.len() > MAX_CHILD_NAME_LEN || !name.starts_with('/') || !(self.matches)(name) {
            return None;
        }
        let mut children = lock(&self.children);
        if let Some(child) = children.get(name) {
            return Some(Arc::clone(child));
        }
        if children.len() >= self.settings.max_children {
            tracing::warn!(
                parent = self.name(),
                name,
                "dynamic namespace not created: too many children"
            );
            return None;
        }
        let (builder, label) = self.template.child(name);
        let child = Arc::new(builder.build_child(
            Arc::clone(&self.settings.adapter),
            self.settings.recovery.clone(),
            self.settings.parser,
            Some(label),
            Some(self.drop_when_empty()),
        ));
        children.insert(name.to_string(), Arc::clone(&child));
        tracing::debug!(parent = self.name(), name, "dynamic namespace created");
        Some(child)
    }

    /// The child called `name`, if it is alive (never creates one).
    pub(crate) fn existing(&self, name: &str) -> Option<Arc<Namespace>> {
        lock(&self.children).get(name).cloned()
    }

    /// The hook a child runs when its last socket left: it is dropped, unless a socket came
    /// meanwhile.
    fn drop_when_empty(&self) -> EmptyHook {
        let children = Arc::downgrade(&self.children);
        Arc::new(move |name: &str| {
            let Some(children) = children.upgrade() else {
                return;
            };
            let mut children = lock(&children);
            if children
                .get(name)
                .is_some_and(|child| child.connected_count() == 0)
            {
                children.remove(name);
                tracing::debug!(name, "empty dynamic namespace dropped");
            }
        })
    }

    /// How many children are alive.
    pub(crate) fn child_count(&self) -> usize {
        lock(&self.children).len()
    }

    /// Emits to every child alive now.
    pub(crate) fn broadcast(&self) -> ParentBroadcast {
        let children = lock(&self.children)
            .values()
            .map(|child| {
                BroadcastOperator::new(
                    Arc::clone(child.name()),
                    Arc::clone(&self.settings.adapter),
                    None,
                    self.settings.recovery.is_some(),
                    self.settings.parser,
                )
            })
            .collect();
        ParentBroadcast { children }
    }
}

/// Emits to every child of a dynamic namespace alive on this node (Node's `parentNamespace.emit`);
/// each child's broadcast goes through the adapter, so it reaches that child's sockets on every
/// node of a cluster.
pub struct ParentBroadcast {
    children: Vec<BroadcastOperator>,
}

impl ParentBroadcast {
    /// Only the sockets in `room` of each child.
    pub fn to(self, room: impl Into<Room>) -> ParentBroadcast {
        let room = room.into();
        ParentBroadcast {
            children: self
                .children
                .into_iter()
                .map(|child| child.to(Arc::clone(&room)))
                .collect(),
        }
    }

    /// How many children the emit reaches.
    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// True when no child is alive.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// Emits an event to the sockets of every child (encoded once per child).
    pub fn emit(self, event: &str, payload: Payload) -> Result<(), EmitError> {
        for child in self.children {
            child.emit(event, payload.clone())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socketio::test_adapter::Recorder;

    fn rooms(max_children: usize) -> DynamicNamespace {
        let settings = ChildSettings {
            adapter: Arc::new(Recorder::default()),
            recovery: None,
            parser: Parser::Default,
            max_children,
        };
        DynamicNamespace::new(
            Arc::new(|name: &str| name.starts_with("/room-")),
            Namespace::builder("/room-*"),
            settings,
        )
    }

    #[test]
    fn a_matching_name_creates_one_child_and_others_are_refused() {
        let parent = rooms(10);
        let child = parent.child("/room-1").expect("a match");
        assert_eq!(child.name().as_ref(), "/room-1");
        let again = parent.child("/room-1").expect("the same child");
        assert!(Arc::ptr_eq(&child, &again), "one child per name");
        assert!(parent.child("/other").is_none());
        let long = format!("/room-{}", "x".repeat(MAX_CHILD_NAME_LEN));
        assert!(parent.child(&long).is_none(), "names are bounded");
        assert_eq!(parent.child_count(), 1);
        assert_eq!(parent.broadcast().len(), 1);
    }

    #[test]
    fn children_are_capped_and_an_empty_one_makes_room() {
        let parent = rooms(2);
        assert!(parent.child("/room-1").is_some());
        assert!(parent.child("/room-2").is_some());
        assert!(parent.child("/room-3").is_none(), "past the cap");
        assert!(
            parent.child("/room-1").is_some(),
            "existing children still found"
        );
        assert!(parent.existing("/room-2").is_some());
        assert!(
            parent.existing("/room-3").is_none(),
            "looking does not create"
        );
        // The hook a child runs when its last socket left (no socket ever came here).
        parent.drop_when_empty()("/room-1");
        assert_eq!(parent.child_count(), 1);
        assert!(parent.child("/room-3").is_some(), "room again");
        assert!(parent
            .broadcast()
            .to("r")
            .emit("news", Payload::empty())
            .is_ok());
    }
}
