//! The conformance server for the official Socket.IO and Engine.IO protocol test suites:
//! `cargo run --example conformance` serves http://localhost:3000 (`--port` to change it;
//! `--per-message-deflate` to agree to WebSocket compression, on `/echo` too; `--max-payload N`
//! for Autobahn's 16 MiB messages).

use std::net::TcpListener;

use agora::conformance;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let port = flag_value::<u16>("--port")?.unwrap_or(3000);
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    println!("conformance server on http://localhost:{port}");
    let mut engine_config = conformance::engine_config();
    engine_config.per_message_deflate = std::env::args().any(|arg| arg == "--per-message-deflate");
    if let Some(max_payload) = flag_value::<usize>("--max-payload")? {
        engine_config.max_payload = max_payload;
    }
    conformance::run(listener, engine_config, conformance::socket_io_config())?
        .server
        .await
}

/// The value after `flag` on the command line, if given.
fn flag_value<T: std::str::FromStr>(flag: &str) -> std::io::Result<Option<T>>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    std::env::args()
        .skip_while(|arg| arg != flag)
        .nth(1)
        .map(|value| value.parse::<T>())
        .transpose()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
}
