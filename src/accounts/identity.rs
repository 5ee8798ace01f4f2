//! [`Identity`]: who is behind a socket or a request, fixed when it connects.

use rand::distributions::Alphanumeric;
use rand::Rng;

use super::names::Username;
use crate::store::UserId;

/// Random characters after `guest-`.
const GUEST_SUFFIX_LENGTH: usize = 6;

/// A signed-in account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The account's row id.
    pub id: UserId,
    /// The account's name.
    pub name: Username,
}

/// The user of a socket or request: an account, or a guest with a server-assigned name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A signed-in account.
    User(User),
    /// A guest, by the name the server gave it.
    Guest(String),
}

impl Identity {
    /// A guest with a fresh random name such as `guest-k3x9qa`.
    pub fn new_guest() -> Identity {
        let suffix: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(GUEST_SUFFIX_LENGTH)
            .map(|c| (c as char).to_ascii_lowercase())
            .collect();
        Identity::Guest(format!("guest-{suffix}"))
    }

    /// The name shown to others.
    pub fn name(&self) -> &str {
        match self {
            Identity::User(user) => user.name.as_str(),
            Identity::Guest(name) => name,
        }
    }

    /// The account, if signed in.
    pub fn user(&self) -> Option<&User> {
        match self {
            Identity::User(user) => Some(user),
            Identity::Guest(_) => None,
        }
    }
}
