//! Accounts: registration, login with rate-limited failures, login sessions, and the
//! [`Identity`] of sockets and requests.

mod hashing;
mod headers;
mod identity;
mod names;
mod token;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::seq::SliceRandom;

pub use hashing::{GateError, HashGate, BUSY_RETRY_AFTER, QUEUE_PER_WORKER};
pub use headers::{token_from_handshake, token_from_headers, SESSION_COOKIE};
pub use identity::{Identity, User};
pub use names::{Password, Username};
pub use token::{session_room, SessionToken, SESSION_ROOM_PREFIX};

use crate::limits::RateLimiter;
use crate::store::{Store, StoreError, StoredUser};

/// Items a new account starts with, of random kinds.
pub const STARTER_ITEMS: usize = 6;

/// How long a login session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// How often expired sessions are deleted from the store (also once at startup).
pub const SESSION_PURGE_INTERVAL: Duration = Duration::from_secs(3600);

/// Failed logins allowed per user name, and per client address, in [`LOGIN_FAILURE_WINDOW`];
/// registrations per client address in [`REGISTRATION_WINDOW`]; parallel password hashes.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failed logins per user name and window.
    pub per_username: u32,
    /// Failed logins per client address and window.
    pub per_ip: u32,
    /// Registrations per client address and [`REGISTRATION_WINDOW`].
    pub registrations_per_ip: u32,
    /// Password hashes computed at once (0: one per core); see [`HashGate`].
    pub hash_workers: usize,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_username: 5,
            per_ip: 20,
            registrations_per_ip: 50,
            hash_workers: 0,
        }
    }
}

/// The window in which failed logins are counted.
pub const LOGIN_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The window in which registrations per address are counted.
pub const REGISTRATION_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The name breaks the naming rules (the message says which).
    #[error("{0}")]
    InvalidName(&'static str),
    /// The password breaks the password rules.
    #[error("{0}")]
    InvalidPassword(&'static str),
    /// Another account has that name (case-insensitively).
    #[error("that name is taken")]
    NameTaken,
    /// No such user, or a wrong password (never said which).
    #[error("wrong user name or password")]
    WrongCredentials,
    /// Over a limit; try again after the duration.
    #[error("too many attempts; try again in {} s", .0.as_secs().max(1))]
    RateLimited(Duration),
    /// The store failed.
    #[error("storage failed: {0}")]
    Store(StoreError),
    /// Argon2 failed (or its task died).
    #[error("password hashing failed")]
    Hashing,
}

impl From<StoreError> for AccountError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NameTaken => AccountError::NameTaken,
            other => AccountError::Store(other),
        }
    }
}

impl From<GateError> for AccountError {
    fn from(error: GateError) -> Self {
        match error {
            GateError::Busy => AccountError::RateLimited(BUSY_RETRY_AFTER),
            GateError::Failed => AccountError::Hashing,
        }
    }
}

/// Account operations over the store.
#[derive(Clone)]
pub struct Accounts {
    store: Store,
    /// Login attempts per (parsed, lower-case) user name; names that cannot exist are not keys.
    failures_by_name: Arc<RateLimiter<String>>,
    failures_by_ip: Arc<RateLimiter<IpAddr>>,
    registrations_by_ip: Arc<RateLimiter<IpAddr>>,
    hashing: HashGate,
}

impl Accounts {
    /// Accounts kept in `store`, with these limits.
    pub fn new(store: Store, limits: LoginLimits) -> Accounts {
        Accounts {
            store,
            failures_by_name: Arc::new(RateLimiter::new(limits.per_username, LOGIN_FAILURE_WINDOW)),
            failures_by_ip: Arc::new(RateLimiter::new(limits.per_ip, LOGIN_FAILURE_WINDOW)),
            registrations_by_ip: Arc::new(RateLimiter::new(
                limits.registrations_per_ip,
                REGISTRATION_WINDOW,
            )),
            hashing: HashGate::new(limits.hash_workers),
        }
    }

    /// Creates an account and signs it in. A taken name is answered before any hashing; each
    /// address may register [`LoginLimits::registrations_per_ip`] accounts per
    /// [`REGISTRATION_WINDOW`]; the hash waits for a [`HashGate`] worker, or is refused when the
    /// queue is full. Two registrations of one free name racing each other are told apart by the
    /// store's unique index.
    pub async fn register(
        &self,
        name: &str,
        password: &str,
        peer: Option<IpAddr>,
    ) -> Result<(User, SessionToken), AccountError> {
        let name = Username::parse(name).map_err(AccountError::InvalidName)?;
        let password = Password::parse(password).map_err(AccountError::InvalidPassword)?;
        if self.store.find_user(name.as_str()).await?.is_some() {
            return Err(AccountError::NameTaken);
        }
        if let Some(ip) = peer {
            self.registrations_by_ip.hit(&ip).map_err(|wait| {
                tracing::warn!(%ip, "registrations from this address limited");
                AccountError::RateLimited(wait)
            })?;
        }
        let hash = match self.hashing.run(move || hash_password(&password)).await {
            Ok(hash) => hash?,
            Err(error) => {
                // Not the client's doing: the attempt does not count.
                if let Some(ip) = peer {
                    self.registrations_by_ip.give_back(&ip);
                }
                tracing::warn!(%error, "registration refused: hashing busy");
                return Err(error.into());
            }
        };
        let kinds = self.store.item_kinds().await?;
        let starter: Vec<i64> = (0..STARTER_ITEMS)
            .filter_map(|_| kinds.choose(&mut rand::thread_rng()).copied())
            .collect();
        let stored = self
            .store
            .create_user(name.as_str(), &hash, &starter)
            .await?;
        tracing::info!(user = %stored.name, "account registered");
        let user = to_user(stored)?;
        let token = self.open_session(&user).await?;
        Ok((user, token))
    }

    /// Checks credentials and signs the user in. Every attempt counts against the name and the
    /// address *before* the password is checked, so parallel guesses meet the same limit as
    /// serial ones; a right password gives its attempt back (and clears the name's count).
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        peer: Option<IpAddr>,
    ) -> Result<(User, SessionToken), AccountError> {
        // A name that cannot be parsed belongs to no account: it is not a limiter key.
        let name_key = Username::parse(name).ok().map(|name| name.key());
        if let Some(ip) = peer {
            self.failures_by_ip
                .hit(&ip)
                .map_err(AccountError::RateLimited)?;
        }
        if let Some(key) = &name_key {
            if let Err(wait) = self.failures_by_name.hit(key) {
                self.give_back(None, peer);
                tracing::warn!(user = %key, ?peer, "login attempts for this name limited");
                return Err(AccountError::RateLimited(wait));
            }
        }
        let verified = match &name_key {
            Some(_) => self.verify(name, password).await,
            None => Err(AccountError::WrongCredentials),
        };
        match verified {
            Ok(user) => {
                if let Some(key) = &name_key {
                    self.failures_by_name.reset(key);
                }
                self.give_back(None, peer);
                let token = self.open_session(&user).await?;
                tracing::info!(user = %user.name, "logged in");
                Ok((user, token))
            }
            Err(AccountError::WrongCredentials) => {
                tracing::warn!(user = name_key.as_deref(), ?peer, "failed login");
                Err(AccountError::WrongCredentials)
            }
            Err(other) => {
                // Busy or broken here, not a wrong guess: the attempt does not count.
                self.give_back(name_key.as_ref(), peer);
                Err(other)
            }
        }
    }

    fn give_back(&self, name_key: Option<&String>, peer: Option<IpAddr>) {
        if let Some(key) = name_key {
            self.failures_by_name.give_back(key);
        }
        if let Some(ip) = peer {
            self.failures_by_ip.give_back(&ip);
        }
    }

    /// Ends a login session. The caller disconnects the session's sockets (its
    /// [`SessionToken::room`]).
    pub async fn logout(&self, token: &SessionToken) -> Result<(), AccountError> {
        self.store.delete_session(&token.hash()).await?;
        Ok(())
    }

    /// The user a session token belongs to, if it is valid.
    pub async fn user_for_token(&self, token: &SessionToken) -> Result<Option<User>, AccountError> {
        self.user_for_hash(&token.hash()).await
    }

    /// The user of the session stored under `token_hash`, if it is still valid.
    pub async fn user_for_hash(&self, token_hash: &str) -> Result<Option<User>, AccountError> {
        match self.store.session_user(token_hash).await? {
            Some(stored) => Ok(Some(to_user(stored)?)),
            None => Ok(None),
        }
    }

    /// Password hashes computed by this instance (registrations and login checks).
    pub fn password_hashes(&self) -> u64 {
        self.hashing.computed()
    }

    /// Drops expired windows from the accounts' rate limiters.
    pub fn sweep_limits(&self) {
        self.failures_by_name.sweep();
        self.failures_by_ip.sweep();
        self.registrations_by_ip.sweep();
    }

    /// Deletes expired sessions; answers how many.
    pub async fn purge_expired_sessions(&self) -> Result<u64, AccountError> {
        Ok(self.store.purge_expired_sessions().await?)
    }

    async fn verify(&self, name: &str, password: &str) -> Result<User, AccountError> {
        let stored = self.store.find_user(name).await?;
        let hash = stored.as_ref().map(|u| u.password_hash.clone());
        let password = password.to_string();
        let matches = self
            .hashing
            .run(move || {
                // Unknown names still pay for one verification, so timing does not reveal them
                // (the dummy hash is made on a worker too, the first time).
                let hash = hash.unwrap_or_else(|| dummy_hash().to_string());
                PasswordHash::new(&hash).is_ok_and(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
            })
            .await?;
        match stored {
            Some(stored) if matches => to_user(stored),
            _ => Err(AccountError::WrongCredentials),
        }
    }

    async fn open_session(&self, user: &User) -> Result<SessionToken, AccountError> {
        let token = SessionToken::generate();
        let expires_at = crate::store::now() + SESSION_LIFETIME.as_secs() as i64;
        self.store
            .create_session(&token.hash(), user.id, expires_at)
            .await?;
        Ok(token)
    }
}

/// A real Argon2 hash of a random password, verified against when the user name is unknown so that
/// timing does not tell which names exist.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(SessionToken::generate().as_str().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

fn hash_password(password: &Password) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| AccountError::Hashing)
}

fn to_user(stored: StoredUser) -> Result<User, AccountError> {
    // Stored names were parsed before they were stored.
    let name = Username::parse(&stored.name).map_err(AccountError::InvalidName)?;
    Ok(User {
        id: stored.id,
        name,
    })
}
