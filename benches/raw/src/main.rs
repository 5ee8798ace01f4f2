//! The raw reference for `benches/loadgen`: the fastest simple server that speaks just enough
//! Engine.IO v4 / Socket.IO v5 for the loadgen's workloads, on tokio and tokio-tungstenite, sharing
//! no code with Agora and using no actix. It shows what the workloads cost without Agora's design.
//!
//! ```text
//! target/release/raw --port 3003 [--workers N] [--ping-interval MS] [--ping-timeout MS]
//! ```
//!
//! The contract is the one of `benches/node/server.js`, Agora's `benches/agora/bench.rs` and the floor
//! (`benches/floor`), main namespace only, over WebSocket only:
//! - `join` (room) with an ack: the connection joins the room, then acks with no arguments;
//! - `broadcast` [room, ...args]: `msg` with the args to every other connection in the room;
//! - `echo` (...args) with an ack: acks with the same arguments.
//!
//! The design, as a competent engineer would write it without a framework:
//! - **One task per connection** (`connection.rs`): tokio-tungstenite's `WebSocketStream` (4 KiB
//!   read buffer) and a `select!` loop over the client's next message, the connection's queue and
//!   one heartbeat timer (a ping `2` every ping interval after the last pong; no `3` within the
//!   ping timeout closes). Replies and queued frames are fed into tungstenite's write buffer and
//!   flushed once per turn of the loop, so frames that wait together leave in one write.
//! - **One unbounded queue per connection** of tungstenite's `Utf8Bytes` frames; a broadcast is encoded once by the sender's task and the shared frame cloned (a
//!   reference count) into each member's queue.
//! - **Rooms in one shared map** (`rooms.rs`): `RwLock<HashMap<room, HashMap<id, queue>>>`, written
//!   on join and when a connection ends, read by broadcasts; each connection remembers its rooms.
//! - **The runtime follows `--workers`**: tokio's current-thread runtime for one worker (the
//!   loadgen pins servers to one core, where actix's choice is one worker too), its multi-thread
//!   runtime with N workers otherwise; the default is one per CPU the process may run on.
//! - Messages are parsed by the floor's `protocol.rs` (plain string operations and serde_json's
//!   `RawValue`), so the raw reference and the floor differ in the transport and the runtime only.
//!
//! No long-polling, upgrades, binary attachments, other namespaces, recovery, queue bounds, metrics
//! or logging.

mod connection;
#[path = "../../floor/src/protocol.rs"]
mod protocol;
mod rooms;
#[path = "../../floor/src/server_args.rs"]
mod server_args;

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tokio::net::{TcpListener, TcpSocket};

use crate::connection::Shared;
use crate::rooms::Rooms;
use crate::server_args::ServerArgs;

/// Pending connections the listening socket holds, as the other servers' backlog.
const BACKLOG: u32 = 4_096;

/// How long to wait before accepting again after an accept error (out of file descriptors).
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

#[derive(Parser, Debug)]
#[command(about = "The benchmarks' raw reference: a minimal Socket.IO server on tokio-tungstenite")]
struct Args {
    /// Port to listen on.
    #[arg(long, default_value_t = 3003)]
    port: u16,
    #[command(flatten)]
    server: ServerArgs,
    /// Largest message accepted, in bytes (WebSocket message size).
    #[arg(long, default_value_t = 1_000_000)]
    max_payload: usize,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let workers = args.server.workers.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let runtime = if workers <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?
    };
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> std::io::Result<()> {
    let address = (args.server.host.as_str(), args.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("no address for {}", args.server.host)))?;
    let listener = listen(address)?;
    let shared = Arc::new(Shared {
        rooms: Rooms::default(),
        ping_interval: Duration::from_millis(args.server.ping_interval),
        ping_timeout: Duration::from_millis(args.server.ping_timeout),
        max_payload: args.max_payload,
    });
    println!("raw reference server on http://{address}");
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection::serve(stream, Arc::clone(&shared)));
            }
            Err(error) => {
                eprintln!("raw: accept failed: {error}");
                tokio::time::sleep(ACCEPT_RETRY).await;
            }
        }
    }
}

fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match address {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(BACKLOG)
}
