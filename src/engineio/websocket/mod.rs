//! The WebSocket transport, on a frame codec of our own.
//!
//! This module turns the client's messages into [`Packet`]s for the session and implements
//! [`TransportSink`], through which the session attaches the WebSocket to its outbox (the context
//! then writes the session's frames) and closes it. Below it: `frame` (RFC 6455 framing),
//! `message` (fragments, control frames, UTF-8), `deflate` (permessage-deflate), `handshake` (the
//! opening handshake on a connection taken off the HTTP server) and `context` (the actor's
//! context, which owns the TCP connection: it reads the client's frames and writes the actor's
//! and the outbox's). The codec does not care where its bytes come from.

mod context;
mod deflate;
mod echo;
mod frame;
mod handshake;
mod message;

pub use context::LiveSockets;
pub use echo::echo;
pub use handshake::WsUpgrade;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use actix_web::http::Method;
use actix_web::web::Bytes;
use actix_web::ResponseError;
use bytestring::ByteString;

use self::context::{WsContext, WsSettings};
use self::frame::CloseCode;
use self::message::{WsError, WsMessage};

use super::connection::EngineConnection;
use super::error::EngineError;
use super::handler::Handshake;
use super::outbox::Outbox;
use super::packet::{Frame, Message, Packet};
use super::relay::{RelayDownlink, RelayUplink, RelayedHere};
use super::router::SessionRouter;
use super::session::{BeginProbe, CheckUpgrade, EngineSession, Incoming, TransportClosed};
use super::sink::TransportSink;
use super::traffic::count_inbound;
use super::types::{CloseReason, TransportId, TransportKind};
use super::Engine;

/// Source of WebSocket transport ids (0 is the polling transport).
static NEXT_TRANSPORT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh WebSocket transport id (a relayed WebSocket's on its owner takes one too).
pub(super) fn next_transport_id() -> TransportId {
    NEXT_TRANSPORT_ID.fetch_add(1, Ordering::Relaxed)
}
/// Serves a WebSocket handshake for Engine.IO: opens a new session on it, probes an upgrade of
/// the polling session it names (relayed to the session's node when that is another one), or
/// answers with the protocol's error.
pub async fn serve(engine: &Engine, upgrade: WsUpgrade) {
    match route(engine, &upgrade).await {
        Ok(role) => start(engine, role, upgrade),
        Err(error) => {
            tracing::info!(%error, path = upgrade.path(), "refused a WebSocket handshake");
            upgrade.answer(error.error_response()).await;
        }
    }
}

/// What the handshake asks for, checked as the HTTP resource checks Engine.IO requests.
async fn route(engine: &Engine, upgrade: &WsUpgrade) -> Result<Role, EngineError> {
    let (sid, transport) = super::check_query(upgrade.query())?;
    let get = *upgrade.method() == Method::GET;
    match sid {
        None if !get => Err(EngineError::BadHandshakeMethod),
        // A WebSocket handshake carries no polling request.
        _ if transport != TransportKind::WebSocket || !get => Err(EngineError::BadRequest),
        None => {
            let handshake = engine.handshake_of(
                upgrade.headers(),
                upgrade.path(),
                upgrade.query(),
                upgrade.peer(),
                TransportKind::WebSocket,
            );
            Ok(Role::Fresh {
                engine: engine.clone(),
                handshake: Box::new(handshake),
            })
        }
        Some(sid) => {
            // Another node's session: only its owner knows whether it can upgrade; the relay
            // asks there.
            if let Some((router, owner)) = engine.owner_elsewhere(&sid) {
                return Ok(Role::Relaying {
                    router: Arc::clone(router),
                    owner: owner.to_string(),
                    sid: sid.clone(),
                    here: engine.relayed.clone(),
                    bounds: (engine.config.max_queue, engine.config.max_queue_bytes),
                });
            }
            Ok(match session_to_upgrade(engine, &sid).await? {
                Some(session) => Role::Attached(session),
                None => Role::Refused,
            })
        }
    }
}

/// The polling session `sid` that a WebSocket handshake asks to upgrade: `None` if it cannot take
/// one (it already upgraded, or is upgrading); an error if no such session lives here.
pub(super) async fn session_to_upgrade(
    engine: &Engine,
    sid: &str,
) -> Result<Option<Addr<EngineSession>>, EngineError> {
    let session = engine.registry.get(sid).ok_or(EngineError::UnknownSid)?;
    let upgradable = session
        .send(CheckUpgrade)
        .await
        .map_err(|_| EngineError::UnknownSid)?;
    Ok(upgradable.then_some(session))
}

/// Completes the handshake and runs the connection (a refused handshake gets a 400).
fn start(engine: &Engine, role: Role, upgrade: WsUpgrade) {
    let settings = settings(engine);
    let accepted = match upgrade.accept(settings.per_message_deflate) {
        Ok(accepted) => accepted,
        Err(error) => {
            tracing::info!(%error, "refused a WebSocket handshake");
            actix_rt::spawn(upgrade.answer(EngineError::BadRequest.error_response()));
            return;
        }
    };
    let connection = WsConnection {
        id: next_transport_id(),
        held: matches!(role, Role::Fresh { .. }).then(Vec::new),
        role,
        max_queue: engine.config.max_queue,
        closing: false,
        connection: None,
    };
    context::run(
        connection,
        upgrade,
        accepted,
        settings.max_payload,
        &engine.websockets,
    );
}

enum Role {
    /// Not started yet: the session is created once this actor has an address.
    Fresh {
        engine: Engine,
        handshake: Box<Handshake>,
    },
    /// Carries packets for this session.
    Attached(Addr<EngineSession>),
    /// Not started yet: relays an upgrade of session `sid` of the node tagged `owner`.
    Relaying {
        router: Arc<dyn SessionRouter>,
        owner: String,
        sid: String,
        here: RelayedHere,
        /// The bounds of the outbox the owner's frames wait in: frames, bytes.
        bounds: (usize, usize),
    },
    /// Relays the client's frames to another node's session (and that node's frames here).
    Relayed {
        uplink: Box<dyn RelayUplink>,
        here: RelayedHere,
    },
    /// Between `Fresh` and `Attached`.
    Starting,
    /// Closed as soon as it opens.
    Refused,
}

/// One WebSocket connection.
struct WsConnection {
    id: TransportId,
    role: Role,
    max_queue: usize,
    /// Told to close, or failed: messages still arriving are dropped.
    closing: bool,
    /// The session's connection, when the session started on this WebSocket (see
    /// [`TransportSink::adopt`]): messages go to it here, without a hop through the session.
    connection: Option<Box<dyn EngineConnection>>,
    /// Messages that arrived before a new session handed over its connection (a client that
    /// sends without waiting for the open packet), given to it when it does.
    held: Option<Vec<Message>>,
}

impl WsConnection {
    fn deliver(&mut self, packet: Packet, ctx: &mut WsContext<Self>) {
        if self.closing {
            return;
        }
        match (packet, self.connection.as_mut()) {
            (Packet::Message(message), None) if self.held.is_some() => {
                let held = self.held.get_or_insert_with(Vec::new);
                if held.len() >= self.max_queue {
                    tracing::warn!("a WebSocket sent too much before its session opened");
                    self.fail(CloseReason::SlowConsumer, ctx);
                    return;
                }
                held.push(message);
            }
            // Its replies go into the session's outbox, which this task writes at the end of
            // this same turn.
            (Packet::Message(message), Some(connection)) => {
                count_inbound(&message);
                connection.on_message(message);
            }
            (packet, _) => {
                if let Role::Attached(session) = &self.role {
                    session.do_send(Incoming {
                        from: self.id,
                        packets: vec![packet],
                    });
                }
            }
        }
    }

    fn deliver_text(&mut self, text: ByteString, ctx: &mut WsContext<Self>) {
        match Packet::decode_text(text) {
            Ok(packet) => self.deliver(packet, ctx),
            Err(error) => {
                tracing::warn!(%error, "malformed packet on a WebSocket; closing it");
                self.fail(CloseReason::TransportError, ctx);
            }
        }
    }

    fn deliver_binary(&mut self, bytes: Bytes, ctx: &mut WsContext<Self>) {
        self.deliver(Packet::Message(Message::Binary(bytes)), ctx);
    }

    /// Tells the adopted connection, if any, that the session ends (once).
    fn release(&mut self, reason: CloseReason) {
        if let Some(mut connection) = self.connection.take() {
            connection.on_close(reason);
        }
    }

    /// Whether this socket relays another node's session.
    fn relayed(&self) -> bool {
        matches!(self.role, Role::Relayed { .. })
    }

    /// Hands a client's frame to the owner of a relayed session.
    fn relay(&mut self, frame: Frame, ctx: &mut WsContext<Self>) {
        let Role::Relayed { uplink, .. } = &mut self.role else {
            return;
        };
        if !self.closing && uplink.send(frame).is_err() {
            tracing::warn!("a relayed WebSocket's client sends faster than the relay carries");
            self.fail(CloseReason::SlowConsumer, ctx);
        }
    }

    /// Tells a relayed session's owner, once, that the socket ends.
    fn end_relay(&mut self, reason: CloseReason) {
        if let Role::Relayed { uplink, here } = &mut self.role {
            uplink.close(reason);
            here.remove(self.id);
            self.role = Role::Starting;
        }
    }

    /// Tells the session why the transport ends and closes the socket.
    fn fail(&mut self, reason: CloseReason, ctx: &mut WsContext<Self>) {
        self.fail_with(reason, close_code(reason), ctx);
    }

    /// [`Self::fail`] with the close code given.
    fn fail_with(&mut self, reason: CloseReason, code: CloseCode, ctx: &mut WsContext<Self>) {
        self.closing = true;
        self.release(reason);
        self.end_relay(reason);
        if let Role::Attached(session) = &self.role {
            session.do_send(TransportClosed {
                from: self.id,
                reason,
            });
        }
        ctx.close(code);
        ctx.stop();
    }
}

/// What the WebSocket transport is told to do.
fn settings(engine: &Engine) -> WsSettings {
    WsSettings {
        max_payload: engine.config.max_payload,
        per_message_deflate: engine.config.per_message_deflate,
    }
}

fn close_code(reason: CloseReason) -> CloseCode {
    match reason {
        CloseReason::PayloadTooLarge => CloseCode::Size,
        CloseReason::TransportError => CloseCode::Protocol,
        CloseReason::SlowConsumer => CloseCode::Policy,
        CloseReason::ServerShutdown => CloseCode::Away,
        _ => CloseCode::Normal,
    }
}

impl Actor for WsConnection {
    type Context = WsContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let sink = Arc::new(ActorSink {
            addr: ctx.address(),
        });
        match std::mem::replace(&mut self.role, Role::Starting) {
            Role::Fresh { engine, handshake } => {
                let session = EngineSession::websocket(
                    Arc::clone(&engine.config),
                    engine.registry.clone(),
                    Arc::clone(&engine.handler),
                    *handshake,
                    self.id,
                    sink,
                )
                .start();
                self.role = Role::Attached(session);
            }
            Role::Attached(session) => {
                session.do_send(BeginProbe { id: self.id, sink });
                self.role = Role::Attached(session);
            }
            Role::Relaying {
                router,
                owner,
                sid,
                here,
                bounds: (max_frames, max_bytes),
            } => {
                // The owner's frames wait in an outbox of this socket's own, as a session's do.
                let outbox = Arc::new(Outbox::new(max_frames, max_bytes, TransportKind::WebSocket));
                ctx.attach(Arc::clone(&outbox));
                let client =
                    RelayDownlink::new(outbox, Arc::clone(&sink) as Arc<dyn TransportSink>);
                match router.relay(&owner, &sid, client) {
                    Ok(uplink) => {
                        here.insert(self.id, sink);
                        self.role = Role::Relayed { uplink, here };
                    }
                    Err(error) => {
                        tracing::warn!(%error, sid, owner, "cannot relay a WebSocket upgrade");
                        ctx.close(CloseCode::Policy);
                        ctx.stop();
                    }
                }
            }
            Role::Starting | Role::Refused | Role::Relayed { .. } => {
                ctx.close(CloseCode::Policy);
                ctx.stop();
            }
        }
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.release(CloseReason::TransportClose);
        self.end_relay(CloseReason::TransportClose);
        if let Role::Attached(session) = &self.role {
            session.do_send(TransportClosed {
                from: self.id,
                reason: CloseReason::TransportClose,
            });
        }
    }
}

impl StreamHandler<Result<WsMessage, WsError>> for WsConnection {
    fn handle(&mut self, item: Result<WsMessage, WsError>, ctx: &mut Self::Context) {
        let failure = match item {
            Ok(WsMessage::Text(text)) if self.relayed() => {
                self.relay(Frame::Text(text), ctx);
                return;
            }
            Ok(WsMessage::Binary(bytes)) if self.relayed() => {
                self.relay(Frame::Binary(bytes), ctx);
                return;
            }
            Ok(WsMessage::Text(text)) => {
                self.deliver_text(text, ctx);
                return;
            }
            Ok(WsMessage::Binary(bytes)) => {
                self.deliver_binary(bytes, ctx);
                return;
            }
            Ok(WsMessage::Ping(bytes)) => {
                ctx.pong(&bytes);
                return;
            }
            Ok(WsMessage::Pong) => return,
            Ok(WsMessage::Close(_)) => (CloseReason::TransportClose, CloseCode::Normal),
            Err(error) => {
                tracing::warn!(%error, "closing a WebSocket");
                let reason = match error {
                    WsError::TooLarge | WsError::Frame(frame::FrameError::TooLarge) => {
                        CloseReason::PayloadTooLarge
                    }
                    _ => CloseReason::TransportError,
                };
                (reason, error.close_code())
            }
        };
        self.fail_with(failure.0, failure.1, ctx);
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

/// Commands from the session to its WebSocket.
#[derive(Message)]
#[rtype(result = "()")]
enum Command {
    AnswerProbe,
    Attach(Arc<Outbox>),
    Close(CloseReason),
    Adopt(Box<dyn EngineConnection>),
}

impl Handler<Command> for WsConnection {
    type Result = ();

    fn handle(&mut self, command: Command, ctx: &mut Self::Context) {
        match command {
            Command::AnswerProbe => ctx.frame(&Frame::pong_probe(), false),
            Command::Attach(outbox) => ctx.attach(outbox),
            Command::Adopt(connection) => {
                self.connection = Some(connection);
                for message in self.held.take().unwrap_or_default() {
                    self.deliver(Packet::Message(message), ctx);
                }
            }
            Command::Close(reason) => {
                // The session is gone (or its relay ended): stop reporting to it.
                self.end_relay(reason);
                self.role = Role::Starting;
                self.closing = true;
                self.release(reason);
                ctx.close(close_code(reason));
                ctx.stop();
            }
        }
    }
}

/// The session's handle on this WebSocket.
struct ActorSink {
    addr: Addr<WsConnection>,
}

impl TransportSink for ActorSink {
    fn answer_probe(&self) {
        self.addr.do_send(Command::AnswerProbe);
    }

    fn attach(&self, outbox: Arc<Outbox>) {
        self.addr.do_send(Command::Attach(outbox));
    }

    fn close(&self, reason: CloseReason) {
        self.addr.do_send(Command::Close(reason));
    }

    fn adopt(&self, connection: Box<dyn EngineConnection>) {
        self.addr.do_send(Command::Adopt(connection));
    }
}
