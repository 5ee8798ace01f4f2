//! The reference behaviour that the official Socket.IO and Engine.IO protocol test suites expect,
//! plus the few events the interop tests add. `cargo run --example conformance` serves it.
//!
//! - Socket.IO at `/socket.io/`: on `/`, emits `auth` with the CONNECT payload, answers `message`
//!   with `message-back`, acks `message-with-ack` with the same arguments; `join`, `broadcast`,
//!   `ask`, `ask-room`, `drop-me` and `kick-me` for the interop tests; on `/custom`, only emits
//!   `auth`.
//! - Engine.IO alone at `/engine.io/`: every message echoed back.
//! - A plain WebSocket echo at `/echo`, on the same codec as the Engine.IO WebSocket transport,
//!   for the Autobahn suite (permessage-deflate agreed when the Engine.IO settings allow it).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix::Actor;
use actix_web::dev::Server;
use actix_web::App;

use crate::engineio::{
    CloseReason, Engine, EngineConfig, EngineConnection, EngineHandler, EngineSocket, Frame,
    Handshake, Message,
};
use crate::hub::{ChatServer, LocalAdapter};
use crate::socketio::{
    AckSender, Adapter, BroadcastAckError, Namespace, NamespaceBuilder, Payload, Socket, SocketIo,
    SocketIoConfig,
};
use crate::web::serve::{serve, ServeOptions, WebSockets};

/// How long the server waits for the client's answer to `ask`.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(2);

/// The settings the protocol test suites expect.
pub fn engine_config() -> EngineConfig {
    EngineConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        max_payload: 1_000_000,
        ..EngineConfig::default()
    }
}

/// The Socket.IO settings the protocol test suites expect.
pub fn socket_io_config() -> SocketIoConfig {
    SocketIoConfig {
        connect_timeout: Duration::from_millis(1_000),
        ..SocketIoConfig::default()
    }
}

/// A running conformance server and its two Engine.IO servers (for tests that look at sessions).
pub struct Conformance {
    /// The HTTP server; await it to serve until stopped.
    pub server: Server,
    /// Engine.IO under Socket.IO, at `/socket.io/`.
    pub socket_io: Engine,
    /// The echo server, at `/engine.io/`.
    pub echo: Engine,
}

/// Starts the conformance server on `listener`: Socket.IO at `/socket.io/`, Engine.IO echo at
/// `/engine.io/`, the plain WebSocket echo at `/echo`, CORS open to any origin.
pub fn run(
    listener: TcpListener,
    engine_config: EngineConfig,
    socket_io_config: SocketIoConfig,
) -> std::io::Result<Conformance> {
    let hub = ChatServer::default()
        .with_parser(socket_io_config.parser)
        .start();
    let io = socket_io(Arc::new(LocalAdapter::new(hub)), socket_io_config);
    let socket_io_engine = Engine::new(engine_config.clone(), Arc::new(io));
    let (max_payload, deflate) = (engine_config.max_payload, engine_config.per_message_deflate);
    let echo_engine = Engine::new(engine_config, Arc::new(EchoHandler));
    let (socket_io, echo) = (socket_io_engine.clone(), echo_engine.clone());
    let sockets = WebSockets::new()
        .engine("/socket.io/", socket_io_engine.clone())
        .engine("/engine.io/", echo_engine.clone())
        .echo("/echo", max_payload, deflate);
    let options = ServeOptions {
        workers: Some(2),
        ..ServeOptions::default()
    };
    let server = serve(listener, options, sockets, move || {
        App::new()
            .wrap(actix_cors::Cors::permissive())
            .service(socket_io_engine.resource("/socket.io/"))
            .service(echo_engine.resource("/engine.io/"))
    })?;
    Ok(Conformance {
        server,
        socket_io,
        echo,
    })
}

/// The Socket.IO server with the reference namespaces.
pub fn socket_io(adapter: Arc<dyn Adapter>, config: SocketIoConfig) -> SocketIo {
    SocketIo::builder(adapter)
        .config(config)
        .namespace(main_namespace())
        .namespace(Namespace::builder("/custom").on_connect(emit_auth))
        .build()
}

/// `join` (room) + ack: joins the room, then acks.
pub fn join(socket: &Socket, payload: Payload, ack: Option<AckSender>) {
    if let Some(room) = payload.args().first().and_then(|r| r.as_str()) {
        socket.join(room);
    }
    if let Some(ack) = ack {
        let _ = ack.send(Payload::empty());
    }
}

/// `broadcast` [room, ...args]: emits `msg` with the args to the room, the sender left out.
pub fn broadcast(socket: &Socket, mut payload: Payload, _: Option<AckSender>) {
    let Some(serde_json::Value::String(room)) = payload.take_first() else {
        return;
    };
    let _ = socket.to(room).emit("msg", payload);
}

/// `ask-room` [room, timeout ms?] + ack: emits `question` to everyone in the room, the sender
/// included, on every node, and acks `{error, responses}` with their answers (`error` is `null`,
/// or `"timeout"` when some did not answer within the timeout, [`ASK_TIMEOUT`] by default).
pub fn ask_room(socket: &Socket, payload: Payload, ack: Option<AckSender>) {
    let (Some(room), Some(ack)) = (payload.args().first().and_then(|r| r.as_str()), ack) else {
        return;
    };
    let timeout = payload
        .args()
        .get(1)
        .and_then(serde_json::Value::as_u64)
        .map_or(ASK_TIMEOUT, Duration::from_millis);
    let asking =
        socket
            .namespace()
            .to(room.to_owned())
            .emit_with_ack("question", Payload::empty(), timeout);
    actix_rt::spawn(async move {
        let (error, answers) = match asking.await {
            Ok(answers) => (None, answers),
            Err(BroadcastAckError::Timeout { answers, .. }) => (Some("timeout"), answers),
            Err(BroadcastAckError::ReservedEvent) => (Some("reserved event"), Vec::new()),
        };
        let responses: Vec<serde_json::Value> = answers
            .into_iter()
            .flat_map(|answer| answer.into_args().into_iter().next())
            .collect();
        let _ = ack.send_json(serde_json::json!({ "error": error, "responses": responses }));
    });
}

fn emit_auth(socket: &Socket) {
    let _ = socket.emit("auth", Payload::new(vec![socket.auth().clone()]));
}

fn main_namespace() -> NamespaceBuilder {
    Namespace::builder("/")
        .on_connect(emit_auth)
        .on("message", |socket, payload, _| {
            let _ = socket.emit("message-back", payload);
        })
        .on("message-with-ack", |_, payload, ack| {
            if let Some(ack) = ack {
                let _ = ack.send(payload);
            }
        })
        .on("join", join)
        .on("broadcast", broadcast)
        .on("ask-room", ask_room)
        .on("ask", |socket, _, _| {
            let socket = socket.clone();
            let answer = socket.emit_with_ack("question", Payload::json("ping?"), ASK_TIMEOUT);
            actix_rt::spawn(async move {
                let reply = match answer.await {
                    Ok(payload) => payload.into_args().into_iter().next().unwrap_or_default(),
                    Err(_) => "timeout".into(),
                };
                let _ = socket.emit("answer", Payload::new(vec![reply]));
            });
        })
        .on("drop-me", |socket, _, _| socket.close_connection())
        .on("kick-me", |socket, _, _| {
            socket.disconnect();
            socket.close_connection();
        })
}

/// An Engine.IO handler that echoes every message back: Engine.IO standing alone.
pub struct EchoHandler;

struct EchoConnection(EngineSocket);

impl EngineHandler for EchoHandler {
    fn on_open(&self, socket: EngineSocket, _: Handshake) -> Box<dyn EngineConnection> {
        Box::new(EchoConnection(socket))
    }
}

impl EngineConnection for EchoConnection {
    fn on_message(&mut self, message: Message) {
        let frame = match message {
            Message::Text(text) => Frame::text_message(&text),
            Message::Binary(bytes) => Frame::binary_message(bytes),
        };
        let _ = self.0.send_frame(frame);
    }

    fn on_close(&mut self, _: CloseReason) {}
}
