//! Storage errors.

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is neither `sqlite://` nor `postgres://`.
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    /// The SQLite file's directory could not be created.
    #[error("cannot create the database directory: {0}")]
    CreateDir(#[source] std::io::Error),
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A unique name (user) exists already.
    #[error("that name is taken")]
    NameTaken,
    /// Rows that should agree do not.
    #[error("stored data is inconsistent: {0}")]
    Inconsistent(&'static str),
}
