//! The benchmark server that `benches/loadgen` drives, with the same contract as the Node.js
//! reference server in `benches/node/server.js`:
//!
//! ```text
//! cargo run --release --example bench -- --port 3000 [--workers N] [--ping-interval MS]
//! ```
//!
//! Main namespace:
//! - `join` (room) with an ack: the socket joins the room, then acks with no arguments;
//! - `broadcast` [room, ...args]: emits `msg` with the args to every socket in the room but the sender;
//! - `echo` (...args) with an ack: acks with the same arguments.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix::Actor;
use actix_web::App;
use clap::Parser;

use agora::engineio::{Engine, EngineConfig};
use agora::hub::{ChatServer, LocalAdapter};
use agora::socketio::{Namespace, SocketIo};
use agora::web::serve::{serve, ServeOptions, WebSockets};

#[path = "../benches/floor/src/server_args.rs"]
mod server_args;

use server_args::ServerArgs;

#[derive(Parser, Debug)]
#[command(about = "Agora benchmark server (join / broadcast / echo)")]
struct Args {
    /// Port to listen on.
    #[arg(long, default_value_t = 3000)]
    port: u16,
    #[command(flatten)]
    server: ServerArgs,
    /// Frames a session may hold for a client that has not read them yet (fan-out bursts).
    #[arg(long, default_value_t = 4_096)]
    max_queue: usize,
}

fn socket_io(adapter: Arc<LocalAdapter>) -> SocketIo {
    let main = Namespace::builder("/")
        .on("join", agora::conformance::join)
        .on("broadcast", agora::conformance::broadcast)
        .on("echo", |_, payload, ack| {
            if let Some(ack) = ack {
                let _ = ack.send(payload);
            }
        });
    SocketIo::builder(adapter).namespace(main).build()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();

    let config = EngineConfig {
        ping_interval: Duration::from_millis(args.server.ping_interval),
        ping_timeout: Duration::from_millis(args.server.ping_timeout),
        max_queue: args.max_queue,
        ..EngineConfig::default()
    };
    let hub = ChatServer::default().start();
    let io = socket_io(Arc::new(LocalAdapter::new(hub)));
    let engine = Engine::new(config, Arc::new(io));

    let listener = TcpListener::bind((args.server.host.as_str(), args.port))?;
    let options = ServeOptions {
        workers: args.server.workers,
        shutdown_timeout: 1,
        backlog: 4_096,
    };
    let sockets = WebSockets::new().engine("/socket.io/", engine.clone());
    let server = serve(listener, options, sockets, move || {
        App::new().service(engine.resource("/socket.io/"))
    })?;
    println!(
        "agora bench server on http://{}:{}",
        args.server.host, args.port
    );
    server.await
}
