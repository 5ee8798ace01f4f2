//! The conformance server for the official Socket.IO and Engine.IO protocol test suites:
//! `cargo run --example conformance` serves http://localhost:3000 (`--port` to change it;
//! `--per-message-deflate` to agree to WebSocket compression, on `/echo` too).

use std::net::TcpListener;

use agora::conformance;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let port = std::env::args()
        .skip_while(|arg| arg != "--port")
        .nth(1)
        .map(|p| p.parse::<u16>())
        .transpose()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?
        .unwrap_or(3000);
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    println!("conformance server on http://localhost:{port}");
    let mut engine_config = conformance::engine_config();
    engine_config.per_message_deflate = std::env::args().any(|arg| arg == "--per-message-deflate");
    conformance::run(
        listener,
        engine_config,
        conformance::socket_io_config(),
    )?
    .server
    .await
}
