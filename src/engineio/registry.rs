//! The table of live sessions, shared by every HTTP worker.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use actix::Addr;

use super::session::EngineSession;
use super::sid::Sid;

/// Live sessions by id.
#[derive(Clone, Default)]
pub struct Registry {
    sessions: Arc<RwLock<HashMap<Sid, Addr<EngineSession>>>>,
}

impl Registry {
    /// Looks a session up.
    pub fn get(&self, sid: &str) -> Option<Addr<EngineSession>> {
        self.read().get(sid).cloned()
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// True when no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every live session (for a shutdown that closes them all).
    pub fn all(&self) -> Vec<Addr<EngineSession>> {
        self.read().values().cloned().collect()
    }

    pub(super) fn insert(&self, sid: Sid, addr: Addr<EngineSession>) {
        self.write().insert(sid, addr);
    }

    pub(super) fn remove(&self, sid: &Sid) {
        self.write().remove(sid);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Sid, Addr<EngineSession>>> {
        // Every write is one insert or remove.
        crate::sync::read(&self.sessions)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Sid, Addr<EngineSession>>> {
        crate::sync::write(&self.sessions)
    }
}
