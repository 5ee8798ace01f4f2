//! [`Gate`]: who may join the `/admin` namespace. A client presents `{username, password}` or the
//! `sessionId` an earlier login got (as `@socket.io/admin-ui` does); guessing is slowed by a
//! limit on attempts per client address.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::RngCore;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::credentials::Credentials;
use crate::expiring::ExpiringMap;
use crate::limits::RateLimiter;
use crate::sync::lock;

/// Login attempts one client address may make per [`ATTEMPT_WINDOW`]; a success resets it.
pub const MAX_ATTEMPTS: u32 = 10;
/// The window of [`MAX_ATTEMPTS`].
pub const ATTEMPT_WINDOW: Duration = Duration::from_secs(600);
/// How long a session id lets the UI reconnect without the password (Node's RedisStore default).
pub const SESSION_LIFETIME: Duration = Duration::from_secs(86_400);
/// Sessions kept at most; the oldest gives way.
pub const MAX_SESSIONS: usize = 1000;
/// Password checks (bcrypt: tens of milliseconds of CPU each) running at once; more are refused,
/// so that a flood of logins from many addresses cannot take every core.
pub const MAX_CONCURRENT_CHECKS: usize = 2;
/// Longest user name, password or session id looked at; longer ones are wrong.
const MAX_FIELD_LEN: usize = 1024;
/// Random bytes of a session id (hex-encoded, as Node's).
const SESSION_ID_BYTES: usize = 8;

/// Why a client was refused; the message is what `@socket.io/admin-ui` says (the UI shows the
/// login form again on "invalid credentials").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Wrong or missing user name, password or session.
    #[error("invalid credentials")]
    Invalid,
    /// Too many attempts from this address: refused without checking.
    #[error("too many attempts, try again later")]
    TooManyAttempts,
    /// [`MAX_CONCURRENT_CHECKS`] checks are already running: refused without checking.
    #[error("busy, try again later")]
    Busy,
}

/// The CONNECT `auth` object of an admin client, parsed once.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdminAuth {
    username: Option<String>,
    password: Option<String>,
    session_id: Option<String>,
}

impl AdminAuth {
    /// The fields, or none at all when the object is not one or a field is too long.
    fn parse(auth: &Value) -> AdminAuth {
        let parsed = AdminAuth::deserialize(auth).unwrap_or_default();
        let too_long = [&parsed.username, &parsed.password, &parsed.session_id]
            .iter()
            .any(|field| field.as_ref().is_some_and(|f| f.len() > MAX_FIELD_LEN));
        if too_long {
            AdminAuth::default()
        } else {
            parsed
        }
    }
}

/// The session a successful login opened, for the `session` event.
#[derive(Debug, Clone)]
pub struct NewSession(pub String);

/// Checks admin logins.
pub struct Gate {
    credentials: Arc<Credentials>,
    sessions: Mutex<ExpiringMap<String, ()>>,
    attempts: RateLimiter<IpAddr>,
    checks: Arc<Semaphore>,
}

impl Gate {
    /// A gate for these credentials.
    pub fn new(credentials: Credentials) -> Gate {
        Gate {
            credentials: Arc::new(credentials),
            sessions: Mutex::new(ExpiringMap::new(MAX_SESSIONS)),
            attempts: RateLimiter::new(MAX_ATTEMPTS, ATTEMPT_WINDOW),
            checks: Arc::new(Semaphore::new(MAX_CONCURRENT_CHECKS)),
        }
    }

    /// Admits a client with a known session (`Ok(None)`) or the right credentials (`Ok` with the
    /// new session). The password check runs on a blocking thread (bcrypt is slow by design).
    pub async fn admit(
        &self,
        auth: &Value,
        peer: Option<IpAddr>,
    ) -> Result<Option<NewSession>, AuthError> {
        let auth = AdminAuth::parse(auth);
        if let Some(session) = &auth.session_id {
            if self.session_known(session) {
                return Ok(None);
            }
        }
        let address = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if self.attempts.hit(&address).is_err() {
            return Err(AuthError::TooManyAttempts);
        }
        let (Some(username), Some(password)) = (auth.username, auth.password) else {
            return Err(AuthError::Invalid);
        };
        let Ok(permit) = Arc::clone(&self.checks).try_acquire_owned() else {
            return Err(AuthError::Busy);
        };
        let credentials = Arc::clone(&self.credentials);
        let matches = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            credentials.matches(&username, &password)
        })
        .await
        .unwrap_or(false);
        if !matches {
            return Err(AuthError::Invalid);
        }
        self.attempts.reset(&address);
        let mut bytes = [0u8; SESSION_ID_BYTES];
        rand::thread_rng().fill_bytes(&mut bytes);
        let session: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        lock(&self.sessions).insert(session.clone(), (), SESSION_LIFETIME);
        Ok(Some(NewSession(session)))
    }

    fn session_known(&self, session: &str) -> bool {
        let mut sessions = lock(&self.sessions);
        // Taken and put back: the map has no lookup, and a used session lives on.
        match sessions.take(session) {
            Some(()) => {
                sessions.insert(session.to_string(), (), SESSION_LIFETIME);
                true
            }
            None => false,
        }
    }

    /// Drops expired attempt windows (called periodically).
    pub fn sweep(&self) {
        self.attempts.sweep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gate() -> Gate {
        Gate::new(Credentials::new("admin", "pw").unwrap())
    }

    #[actix_rt::test]
    async fn credentials_then_session() {
        let gate = gate();
        let peer = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let session = gate
            .admit(&json!({"username": "admin", "password": "pw"}), peer)
            .await
            .unwrap()
            .expect("a new session");
        assert_eq!(session.0.len(), 2 * SESSION_ID_BYTES);
        assert!(gate
            .admit(&json!({ "sessionId": session.0 }), peer)
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            gate.admit(&json!({"sessionId": "nope"}), peer).await.err(),
            Some(AuthError::Invalid)
        );
    }

    #[actix_rt::test]
    async fn wrong_and_malformed_are_refused_then_limited() {
        let gate = gate();
        let peer = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        for auth in [
            json!({"username": "admin", "password": "PW"}),
            json!("admin:pw"),
            json!({"username": 1, "password": ["pw"]}),
            json!({"username": "admin", "password": "x".repeat(MAX_FIELD_LEN + 1)}),
        ] {
            assert_eq!(
                gate.admit(&auth, peer).await.err(),
                Some(AuthError::Invalid)
            );
        }
        for _ in 4..MAX_ATTEMPTS {
            let _ = gate.admit(&json!({}), peer).await;
        }
        let right = json!({"username": "admin", "password": "pw"});
        assert_eq!(
            gate.admit(&right, peer).await.err(),
            Some(AuthError::TooManyAttempts)
        );
        let other = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(gate.admit(&right, other).await.is_ok());
    }

    #[actix_rt::test]
    async fn busy_when_every_check_runs() {
        let gate = gate();
        let held: Vec<_> = (0..MAX_CONCURRENT_CHECKS)
            .map(|_| Arc::clone(&gate.checks).try_acquire_owned().unwrap())
            .collect();
        let right = json!({"username": "admin", "password": "pw"});
        let peer = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(gate.admit(&right, peer).await.err(), Some(AuthError::Busy));
        drop(held);
        assert!(gate.admit(&right, peer).await.is_ok());
    }
}
