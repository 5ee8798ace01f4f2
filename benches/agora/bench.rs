//! The benchmark server that `benches/loadgen` drives, with the same contract as the Node.js
//! reference server in `benches/node/server.js`:
//!
//! ```text
//! cargo run --release --example bench -- --port 3000 [--workers N] [--ping-interval MS]
//!     [--recovery] [--redis-url redis://127.0.0.1:6379]
//! ```
//!
//! `--recovery` turns connection state recovery on (in memory); `--redis-url` runs the server as
//! one node of a cluster of its own (a random key) with recovery shared through Redis: the cost
//! of the cluster (docs/BENCHMARKS.md, "Cluster cost").
//!
//! Main namespace:
//! - `join` (room) with an ack: the socket joins the room, then acks with no arguments;
//! - `broadcast` [room, ...args]: emits `msg` with the args to every socket in the room but the sender;
//! - `echo` (...args) with an ack: acks with the same arguments.
//!
//! With `--count-allocations` it counts its heap (`support/counting_alloc.rs`) and writes
//! `heap: live_bytes=B live_allocations=N` to stderr on every SIGUSR1 (the loadgen's
//! `--count-allocations` reads it for the idle workload's heap per connection).
//!
//! `GET /stats` answers what the server holds, for the loadgen's soak to see it come back to zero:
//! `{"sessions": Engine.IO sessions, "sockets": Socket.IO sockets, "rooms": rooms with members,
//! "members": sockets registered in the hub}` (main namespace; Node's server answers the same).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use actix_web::{web, App, HttpResponse};
use clap::Parser;

use agora::cluster::{ClusterOptions, RedisAdapter};
use agora::engineio::{Engine, EngineConfig, Registry};
use agora::hub::messages::{FetchSockets, ListRooms};
use agora::hub::{ChatServer, LocalAdapter, PendingHub};
use agora::socketio::{Adapter, Namespace, RecoveryConfig, SocketIo, SocketIoConfig};
use agora::web::serve::{serve, ServeOptions, WebSockets};

#[path = "../floor/src/server_args.rs"]
mod server_args;

use server_args::ServerArgs;

mod counting_alloc;

/// The system allocator; it counts only with `--count-allocations`.
#[global_allocator]
static ALLOCATOR: counting_alloc::Counting = counting_alloc::Counting;

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
    /// Connection state recovery on (in memory, or through Redis with `--redis-url`).
    #[arg(long)]
    recovery: bool,
    /// Join a cluster of its own on this Redis, with recovery shared through it.
    #[arg(long)]
    redis_url: Option<String>,
    /// Count allocations, and write the live heap to stderr on SIGUSR1.
    #[arg(long)]
    count_allocations: bool,
}

fn socket_io(adapter: Arc<dyn Adapter>, recovery: Option<RecoveryConfig>) -> SocketIo {
    let main = Namespace::builder("/")
        .on("join", agora::conformance::join)
        .on("broadcast", agora::conformance::broadcast)
        .on("echo", |_, payload, ack| {
            if let Some(ack) = ack {
                let _ = ack.send(payload);
            }
        });
    SocketIo::builder(adapter)
        .config(SocketIoConfig {
            recovery,
            ..SocketIoConfig::default()
        })
        .namespace(main)
        .build()
}

/// Writes the live heap to stderr on every SIGUSR1; the handler is in place when this returns.
fn report_heap_on_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut signals = signal(SignalKind::user_defined1())?;
    actix_web::rt::spawn(async move {
        while signals.recv().await.is_some() {
            let (bytes, allocations) = counting_alloc::live();
            eprintln!("heap: live_bytes={bytes} live_allocations={allocations}");
        }
    });
    Ok(())
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
    if args.count_allocations {
        counting_alloc::start();
        report_heap_on_signal()?;
    }
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
    let recovery = (args.recovery || args.redis_url.is_some()).then(RecoveryConfig::default);
    let (hub, pending_hub) = PendingHub::new(match recovery {
        Some(recovery) => ChatServer::with_recovery(recovery),
        None => ChatServer::default(),
    });
    let local = LocalAdapter::new(hub.clone());
    let adapter: Arc<dyn Adapter> = match &args.redis_url {
        Some(url) => {
            let options = ClusterOptions {
                key: format!("agora-bench-{:016x}", rand::random::<u64>()),
                recovery: true,
                recovery_window: recovery.map(|r| r.max_disconnection),
                ..ClusterOptions::default()
            };
            let adapter = RedisAdapter::connect_with(url, local, options)
                .await
                .map_err(std::io::Error::other)?;
            Arc::new(adapter)
        }
        None => Arc::new(local),
    };
    let io = socket_io(adapter, recovery);
    let engine = Engine::new(config, Arc::new(io));

    let listener = TcpListener::bind((args.server.host.as_str(), args.port))?;
    let options = ServeOptions {
        workers: args.server.workers,
        shutdown_timeout: 1,
        backlog: 4_096,
        ..ServeOptions::default()
    };
    if options.worker_count() > 1 {
        // As the application does (src/startup.rs): with one worker the hub starts on it.
        pending_hub.start_here();
    }
    let sockets = WebSockets::new().engine("/socket.io/", engine.clone());
    let server = serve(listener, options, sockets, move || {
        pending_hub.start_here();
        let (registry, hub) = (engine.registry().clone(), hub.clone());
        App::new().service(engine.resource("/socket.io/")).route(
            "/stats",
            web::get().to(move || stats(registry.clone(), hub.clone())),
        )
    })?;
    println!(
        "agora bench server on http://{}:{}",
        args.server.host, args.port
    );
    server.await
}
