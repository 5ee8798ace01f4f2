//! Storage errors.

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    #[error("cannot create the database directory: {0}")]
    CreateDir(#[source] std::io::Error),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("that name is taken")]
    NameTaken,
    #[error("stored data is inconsistent: {0}")]
    Inconsistent(&'static str),
}
