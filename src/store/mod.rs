//! Storage behind one narrow interface: [`Store`]. Embedded SQLite by default (WAL mode), or
//! PostgreSQL for a cluster of nodes, chosen by the database URL; migrations run at start. The apps
//! only see the methods and domain types here. Statements are written once through sqlx's `Any`
//! driver; where the two databases' SQL differs, [`Dialect`] says how.

mod accounts;
mod apps;
mod dialect;
mod error;
mod trades;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, Executor};

pub use accounts::{StoredUser, UserId};
pub use apps::{BoardMessage, ChatMessage, StoredRoom, Tweet, TweetPage};
use dialect::Dialect;
pub use error::StoreError;
pub use trades::{Decision, Item, NewTrade, Settled, Trade, TradeError, TradeStatus};

/// How long a request waits for a free pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections in the pool (SQLite serialises writers anyway).
const MAX_CONNECTIONS: u32 = 8;
/// Set on every SQLite connection: write-ahead logging, and every commit synced to disk. (sqlx's
/// defaults already turn foreign keys on and wait 5 s for a lock.)
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;";

/// The application's persistent state.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
}

impl Store {
    /// Opens the database at `url` and runs pending migrations: `sqlite://path/to/file.db`
    /// (created with its directory if missing), `sqlite::memory:`, or
    /// `postgres://user@host:port/database`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_url(url).ok_or_else(|| {
            StoreError::BadUrl(format!("{url:?} is neither a sqlite: nor a postgres: URL"))
        })?;
        let pool = match dialect {
            Dialect::Sqlite => open_sqlite(url).await?,
            Dialect::Postgres => {
                let options = AnyConnectOptions::from_str(url)
                    .map_err(|e| StoreError::BadUrl(e.to_string()))?;
                AnyPoolOptions::new()
                    .max_connections(MAX_CONNECTIONS)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await?
            }
        };
        match dialect {
            Dialect::Sqlite => {
                sqlx::migrate!("src/store/migrations/sqlite")
                    .run(&pool)
                    .await?
            }
            Dialect::Postgres => {
                sqlx::migrate!("src/store/migrations/postgres")
                    .run(&pool)
                    .await?
            }
        }
        Ok(Store { pool, dialect })
    }

    /// True if the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Waits for in-flight work and closes every connection (at shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A pool on a SQLite file, created with its directory when missing.
async fn open_sqlite(url: &str) -> Result<AnyPool, StoreError> {
    let checked =
        SqliteConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
    if let Some(dir) = Path::new(checked.get_filename()).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(StoreError::CreateDir)?;
        }
    }
    // The `Any` driver rebuilds SQLite's options from the URL for each connection.
    let url = if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    };
    let options =
        AnyConnectOptions::from_str(&url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
    let in_memory = url.contains(":memory:");
    let mut pool = AnyPoolOptions::new()
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(SQLITE_PRAGMAS).await?;
                Ok(())
            })
        });
    if in_memory {
        // An in-memory database lives as long as its one connection; more, or a replaced one,
        // would each see an empty database.
        pool = pool
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    } else {
        pool = pool.max_connections(MAX_CONNECTIONS);
    }
    Ok(pool.connect_with(options).await?)
}

/// Milliseconds since the Unix epoch (timestamps the apps show).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
