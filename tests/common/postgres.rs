//! A fresh PostgreSQL database per test, on the server at `AGORA_TEST_POSTGRES_URL` (by default
//! the local one, trust auth).

use sqlx::Connection;

/// The maintenance database the test databases are created from.
fn server_url() -> String {
    std::env::var("AGORA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// An empty database, dropped by [`TestDatabase::drop_now`] (a failed test leaves it behind for a
/// look; the next run of that test starts from a new name anyway).
pub struct TestDatabase {
    pub url: String,
    name: String,
}

impl TestDatabase {
    /// Creates `agora_test_<random>` on the test server.
    pub async fn create() -> TestDatabase {
        let name = format!("agora_test_{:016x}", rand::random::<u64>());
        let server = server_url();
        let mut conn = sqlx::PgConnection::connect(&server)
            .await
            .expect("PostgreSQL must be running (see .ci/run)");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create the test database");
        conn.close().await.ok();
        let base = server
            .rsplit_once('/')
            .map_or(server.as_str(), |(base, _)| base);
        TestDatabase {
            url: format!("{base}/{name}"),
            name,
        }
    }

    /// Drops the database, closing what still connects to it.
    pub async fn drop_now(self) {
        let mut conn = sqlx::PgConnection::connect(&server_url()).await.unwrap();
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut conn)
        .await
        .expect("drop the test database");
        conn.close().await.ok();
    }
}
