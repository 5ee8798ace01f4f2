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
//!
//! `GET /stats` answers what the server holds, for the loadgen's soak to see it come back to zero:
//! `{"sessions": Engine.IO sessions, "sockets": Socket.IO sockets, "rooms": rooms with members,
//! "members": sockets registered in the hub}` (main namespace; Node's server answers the same).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr};
use actix_web::{web, App, HttpResponse, HttpServer};
use clap::Parser;

use agora::engineio::{Engine, EngineConfig, Registry};
use agora::hub::messages::{FetchSockets, ListRooms};
use agora::hub::{ChatServer, LocalAdapter};
use agora::socketio::{Namespace, SocketIo};

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

/// `GET /stats`: sessions, sockets, rooms and hub members, as JSON.
async fn stats(registry: Registry, hub: Addr<ChatServer>) -> HttpResponse {
    let nsp: Arc<str> = Arc::from("/");
    let members = hub.send(FetchSockets {
        nsp: Arc::clone(&nsp),
        rooms: Vec::new(),
    });
    let rooms = hub.send(ListRooms {
        nsp,
        prefix: String::new(),
    });
    let (Ok(members), Ok(rooms)) = (members.await, rooms.await) else {
        return HttpResponse::ServiceUnavailable().body("the hub is gone");
    };
    let sockets = agora::metrics::get()
        .sockets
        .with_label_values(&["/"])
        .get();
    HttpResponse::Ok().json(serde_json::json!({
        "sessions": registry.len(),
        "sockets": sockets,
        "rooms": rooms.len(),
        "members": members.len(),
    }))
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
    let io = socket_io(Arc::new(LocalAdapter::new(hub.clone())));
    let engine = Engine::new(config, Arc::new(io));

    let listener = TcpListener::bind((args.server.host.as_str(), args.port))?;
    let mut server = HttpServer::new(move || {
        let (registry, hub) = (engine.registry().clone(), hub.clone());
        App::new().service(engine.resource("/socket.io/")).route(
            "/stats",
            web::get().to(move || stats(registry.clone(), hub.clone())),
        )
    })
    .backlog(4_096)
    .shutdown_timeout(1);
    if let Some(workers) = args.server.workers {
        server = server.workers(workers);
    }
    println!(
        "agora bench server on http://{}:{}",
        args.server.host, args.port
    );
    server.listen(listener)?.run().await
}
