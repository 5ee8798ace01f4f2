//! The design floor for `benches/loadgen`: the smallest server on Agora's mandated design, with none
//! of Agora's generality, to show what the design itself costs.
//!
//! ```text
//! target/release/floor --port 3002 [--workers N] [--ping-interval MS] [--ping-timeout MS]
//! ```
//!
//! The design is actix/examples `websockets/chat`: actix-web with actix-web-actors, one
//! `WsChatSession` actor per WebSocket connection, all reporting to one `ChatServer` hub actor that
//! holds the rooms (`HashMap<room, HashSet<id>>`) and each session's `Recipient`. On top of it, just
//! enough Engine.IO v4 / Socket.IO v5 text over WebSocket for the loadgen's contract (the same as
//! Agora's `benches/agora/bench.rs` and `benches/node/server.js`), main namespace only:
//! - `join` (room) with an ack: the session joins the room at the hub, then acks with no arguments;
//! - `broadcast` [room, ...args]: the hub sends `msg` with the args to every other session in the
//!   room, the frame encoded once and shared;
//! - `echo` (...args) with an ack: acks with the same arguments, without the hub.
//!
//! No long-polling, upgrades, binary attachments, other namespaces, rooms per socket, recovery,
//! queue bounds, metrics or logging.

mod hub;
mod protocol;
mod server_args;
mod session;

use std::net::TcpListener;
use std::time::Duration;

use actix::Actor;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use actix_web_actors::ws;
use clap::Parser;

use crate::hub::ChatServer;
use crate::server_args::ServerArgs;
use crate::session::{Settings, WsChatSession};

#[derive(Parser, Debug)]
#[command(about = "The benchmarks' design floor: a minimal Socket.IO server on actix actors")]
struct Args {
    /// Port to listen on.
    #[arg(long, default_value_t = 3002)]
    port: u16,
    #[command(flatten)]
    server: ServerArgs,
    /// Largest message accepted, in bytes (WebSocket frame size).
    #[arg(long, default_value_t = 1_000_000)]
    max_payload: usize,
}

/// Shared by every request: the hub's address and the session settings.
#[derive(Clone)]
struct State {
    hub: actix::Addr<ChatServer>,
    settings: Settings,
}

/// `GET /socket.io/?EIO=4&transport=websocket`: starts a session; anything else is refused.
async fn socket_io(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<State>,
) -> actix_web::Result<HttpResponse> {
    let mut eio4 = false;
    let mut websocket = false;
    for pair in req.query_string().split('&') {
        match pair {
            "EIO=4" => eio4 = true,
            "transport=websocket" => websocket = true,
            _ => {}
        }
    }
    if !(eio4 && websocket) {
        return Ok(HttpResponse::BadRequest().body(
            "the floor serves Engine.IO v4 over WebSocket only (EIO=4&transport=websocket)",
        ));
    }
    ws::WsResponseBuilder::new(
        WsChatSession::new(state.hub.clone(), state.settings),
        &req,
        body,
    )
    .frame_size(state.settings.max_payload)
    .start()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let state = State {
        // Started here, so the hub lives on the main thread, like Agora's in `benches/agora/bench.rs`.
        hub: ChatServer::default().start(),
        settings: Settings {
            ping_interval: Duration::from_millis(args.server.ping_interval),
            ping_timeout: Duration::from_millis(args.server.ping_timeout),
            max_payload: args.max_payload,
        },
    };
    let listener = TcpListener::bind((args.server.host.as_str(), args.port))?;
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .route("/socket.io/", web::get().to(socket_io))
    })
    .backlog(4_096)
    .shutdown_timeout(1);
    if let Some(workers) = args.server.workers {
        server = server.workers(workers);
    }
    println!("floor server on http://{}:{}", args.server.host, args.port);
    server.listen(listener)?.run().await
}
