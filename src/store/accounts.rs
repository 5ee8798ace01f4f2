//! Users and login sessions.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{now, Store, StoreError};

/// A user's row id.
pub type UserId = i64;

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    /// The row id.
    pub id: UserId,
    /// The name as registered (its case kept).
    pub name: String,
    /// The Argon2 hash in PHC string format.
    pub password_hash: String,
}

fn stored_user(row: AnyRow) -> StoredUser {
    StoredUser {
        id: row.get(0),
        name: row.get(1),
        password_hash: row.get(2),
    }
}

impl Store {
    /// Creates a user with a starter set of items of these kinds, in one transaction; names are
    /// unique regardless of case.
    pub async fn create_user(
        &self,
        name: &str,
        password_hash: &str,
        starter_kinds: &[i64],
    ) -> Result<StoredUser, StoreError> {
        let mut tx = self.pool.begin().await?;
        let result = sqlx::query(
            "INSERT INTO users (name, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(password_hash)
        .bind(now())
        .fetch_one(&mut *tx)
        .await;
        let id: UserId = match result {
            Ok(row) => row.get(0),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::NameTaken)
            }
            Err(e) => return Err(e.into()),
        };
        for kind in starter_kinds {
            sqlx::query("INSERT INTO items (kind_id, owner_id) VALUES ($1, $2)")
                .bind(kind)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(StoredUser {
            id,
            name: name.to_string(),
            password_hash: password_hash.to_string(),
        })
    }

    /// Finds a user by name, ignoring case.
    pub async fn find_user(&self, name: &str) -> Result<Option<StoredUser>, StoreError> {
        let row =
            sqlx::query("SELECT id, name, password_hash FROM users WHERE lower(name) = lower($1)")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(stored_user))
    }

    /// Records a login session by the hash of its token.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user)
        .bind(now())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user of an unexpired session.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<StoredUser>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.name, u.password_hash FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(stored_user))
    }

    /// Ends a session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes every session whose expiry has passed; answers how many went. Expired sessions are
    /// already refused by [`Store::session_user`]; this only keeps the table from growing.
    pub async fn purge_expired_sessions(&self) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use crate::store::Store;

    /// The purge of expired sessions finds them through an index, not by reading every session.
    #[actix_rt::test]
    async fn the_purge_of_expired_sessions_uses_an_index() {
        let store = Store::open("sqlite::memory:")
            .await
            .expect("an in-memory store");
        let plan = sqlx::query("EXPLAIN QUERY PLAN DELETE FROM sessions WHERE expires_at <= 0")
            .fetch_all(&store.pool)
            .await
            .expect("a query plan");
        let steps: Vec<String> = plan.iter().map(|row| row.get::<String, _>(3)).collect();
        assert!(
            steps
                .iter()
                .any(|step| step.contains("INDEX sessions_expires")),
            "{steps:?}"
        );
    }
}
