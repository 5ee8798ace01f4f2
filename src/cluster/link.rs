//! [`Link`]: a Redis connection for commands (not pub/sub) that reopens itself after a loss, for
//! the heartbeats and the recovery store.

use std::sync::{Arc, Mutex};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisError};

use crate::sync::lock;

/// A shared command connection: opened on first use and again after it was lost.
#[derive(Clone)]
pub struct Link {
    client: Client,
    config: AsyncConnectionConfig,
    connection: Arc<Mutex<Option<MultiplexedConnection>>>,
}

impl Link {
    /// A link through `client`, already connected with `connection`.
    pub fn new(
        client: Client,
        config: AsyncConnectionConfig,
        connection: MultiplexedConnection,
    ) -> Link {
        Link {
            client,
            config,
            connection: Arc::new(Mutex::new(Some(connection))),
        }
    }

    /// The connection (a cheap clone), opened again if it was lost.
    pub async fn connection(&self) -> Result<MultiplexedConnection, RedisError> {
        if let Some(connection) = lock(&self.connection).clone() {
            return Ok(connection);
        }
        let connection = self
            .client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await?;
        *lock(&self.connection) = Some(connection.clone());
        Ok(connection)
    }

    /// Looks at a command's error: a lost connection is dropped, so the next use opens a new one.
    pub fn check<T>(&self, result: Result<T, RedisError>) -> Result<T, RedisError> {
        if let Err(error) = &result {
            if error.is_io_error()
                || error.is_connection_dropped()
                || error.is_timeout()
                || error.is_unrecoverable_error()
            {
                *lock(&self.connection) = None;
            }
        }
        result
    }
}
