//! The few places where SQLite and PostgreSQL SQL differ. Every other statement is written once,
//! in the SQL both accept (`$N` parameters, `RETURNING`, `ON CONFLICT DO NOTHING`, `lower()`).

/// Which database a [`Store`](super::Store) talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// SQLSTATEs after which PostgreSQL asks for the transaction to be run again.
const RETRYABLE_SQLSTATES: [&str; 2] = [
    "40001", // serialization_failure
    "40P01", // deadlock_detected
];

impl Dialect {
    /// The dialect of a database URL: `sqlite:` or `postgres:`/`postgresql:`.
    pub fn of_url(url: &str) -> Option<Dialect> {
        let scheme = url.split_once(':')?.0;
        match scheme {
            "sqlite" => Some(Dialect::Sqlite),
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            _ => None,
        }
    }

    /// Starts a transaction that sees and writes as if it ran alone: SQLite takes the write lock at
    /// once; PostgreSQL runs it serializable (and may ask for a retry, see [`Dialect::must_retry`]).
    pub fn begin_exclusive(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN ISOLATION LEVEL SERIALIZABLE",
        }
    }

    /// A subquery of the ids in the JSON array bound to parameter `$param`.
    pub fn ids_in(self, param: u8) -> String {
        match self {
            Dialect::Sqlite => format!("SELECT value FROM json_each(${param})"),
            Dialect::Postgres => {
                format!("SELECT value::bigint FROM json_array_elements_text(${param}::json)")
            }
        }
    }

    /// True when `error` means "run the transaction again" (a lost serialization race).
    pub fn must_retry(error: &sqlx::Error) -> bool {
        error
            .as_database_error()
            .and_then(|e| e.code())
            .is_some_and(|code| RETRYABLE_SQLSTATES.contains(&code.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_their_dialect() {
        assert_eq!(Dialect::of_url("sqlite::memory:"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::of_url("sqlite://data/a.db"), Some(Dialect::Sqlite));
        assert_eq!(
            Dialect::of_url("postgres://u@h:5432/db"),
            Some(Dialect::Postgres)
        );
        assert_eq!(
            Dialect::of_url("postgresql://u@h/db"),
            Some(Dialect::Postgres)
        );
        assert_eq!(Dialect::of_url("mysql://h/db"), None);
        assert_eq!(Dialect::of_url("agora.db"), None);
    }
}
