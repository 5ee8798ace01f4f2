//! A fresh PostgreSQL database per test, on the server at `AGORA_TEST_POSTGRES_URL` (by default
//! the local one, trust auth).

use sqlx::{Connection, PgConnection};

/// The maintenance database the test databases are created from.
fn server_url() -> String {
    std::env::var("AGORA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// An empty database of its own, dropped (with whatever still connects to it) when this is.
pub struct TestDatabase {
    pub url: String,
    name: String,
}

impl TestDatabase {
    /// Creates `agora_test_<random>` on the test server.
    pub async fn create() -> TestDatabase {
        let name = format!("agora_test_{:016x}", rand::random::<u64>());
        let server = server_url();
        let mut conn = PgConnection::connect(&server)
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
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread with its own
        // runtime does the work.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&server_url()).await?;
                sqlx::query(&statement).execute(&mut conn).await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}
