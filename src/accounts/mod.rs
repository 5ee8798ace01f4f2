//! Accounts: registration, login with rate-limited failures, login sessions, and the
//! [`Identity`] of sockets and requests.

mod identity;
mod names;
mod token;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::seq::SliceRandom;

pub use identity::{Identity, User};
pub use names::{Password, Username};
pub use token::SessionToken;

use crate::limits::RateLimiter;
use crate::store::{Store, StoreError, StoredUser};

/// Items a new account starts with, of random kinds.
pub const STARTER_ITEMS: usize = 6;

/// How long a login session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// Failed logins allowed per user name, and per client address, in [`LOGIN_FAILURE_WINDOW`].
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub per_username: u32,
    pub per_ip: u32,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_username: 5,
            per_ip: 20,
        }
    }
}

/// The window in which failed logins are counted.
pub const LOGIN_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    InvalidName(&'static str),
    #[error("{0}")]
    InvalidPassword(&'static str),
    #[error("that name is taken")]
    NameTaken,
    #[error("wrong user name or password")]
    WrongCredentials,
    #[error("too many failed logins; try again in {} s", .0.as_secs().max(1))]
    RateLimited(Duration),
    #[error("storage failed: {0}")]
    Store(StoreError),
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

/// Account operations over the store.
#[derive(Clone)]
pub struct Accounts {
    store: Store,
    failures_by_name: Arc<RateLimiter<String>>,
    failures_by_ip: Arc<RateLimiter<IpAddr>>,
}

impl Accounts {
    /// Accounts kept in `store`, with these limits on failed logins.
    pub fn new(store: Store, limits: LoginLimits) -> Accounts {
        Accounts {
            store,
            failures_by_name: Arc::new(RateLimiter::new(limits.per_username, LOGIN_FAILURE_WINDOW)),
            failures_by_ip: Arc::new(RateLimiter::new(limits.per_ip, LOGIN_FAILURE_WINDOW)),
        }
    }

    /// Creates an account and signs it in.
    pub async fn register(
        &self,
        name: &str,
        password: &str,
    ) -> Result<(User, SessionToken), AccountError> {
        let name = Username::parse(name).map_err(AccountError::InvalidName)?;
        let password = Password::parse(password).map_err(AccountError::InvalidPassword)?;
        let hash = hash_password(password).await?;
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

    /// Checks credentials and signs the user in. Failures count against the name and the address.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        peer: Option<IpAddr>,
    ) -> Result<(User, SessionToken), AccountError> {
        let name_key = name.to_ascii_lowercase();
        self.failures_by_name
            .check(&name_key)
            .map_err(AccountError::RateLimited)?;
        if let Some(ip) = peer {
            self.failures_by_ip
                .check(&ip)
                .map_err(AccountError::RateLimited)?;
        }
        match self.verify(name, password).await {
            Ok(user) => {
                self.failures_by_name.reset(&name_key);
                let token = self.open_session(&user).await?;
                tracing::info!(user = %user.name, "logged in");
                Ok((user, token))
            }
            Err(AccountError::WrongCredentials) => {
                tracing::warn!(user = name_key, ?peer, "failed login");
                let _ = self.failures_by_name.hit(&name_key);
                if let Some(ip) = peer {
                    let _ = self.failures_by_ip.hit(&ip);
                }
                Err(AccountError::WrongCredentials)
            }
            Err(other) => Err(other),
        }
    }

    /// Ends a login session.
    pub async fn logout(&self, token: &SessionToken) -> Result<(), AccountError> {
        self.store.delete_session(&token.hash()).await?;
        Ok(())
    }

    /// The user a session token belongs to, if it is valid.
    pub async fn user_for_token(&self, token: &SessionToken) -> Result<Option<User>, AccountError> {
        match self.store.session_user(&token.hash()).await? {
            Some(stored) => Ok(Some(to_user(stored)?)),
            None => Ok(None),
        }
    }

    async fn verify(&self, name: &str, password: &str) -> Result<User, AccountError> {
        let stored = self.store.find_user(name).await?;
        let hash = stored
            .as_ref()
            .map(|u| u.password_hash.clone())
            // Unknown names still pay for one verification, so timing does not reveal them.
            .unwrap_or_else(|| dummy_hash().to_string());
        let password = password.to_string();
        let matches = actix_web::rt::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .map_err(|_| AccountError::Hashing)?;
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

async fn hash_password(password: Password) -> Result<String, AccountError> {
    actix_web::rt::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|_| AccountError::Hashing)
    })
    .await
    .map_err(|_| AccountError::Hashing)?
}

fn to_user(stored: StoredUser) -> Result<User, AccountError> {
    // Stored names were parsed before they were stored.
    let name = Username::parse(&stored.name).map_err(AccountError::InvalidName)?;
    Ok(User {
        id: stored.id,
        name,
    })
}
