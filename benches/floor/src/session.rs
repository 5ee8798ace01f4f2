//! `WsChatSession`: one actor per WebSocket connection (actix-web-actors' `WebsocketContext`), as in
//! actix/examples `websockets/chat`, speaking Engine.IO v4 and the main Socket.IO v5 namespace.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix::prelude::*;
use actix_web_actors::ws;

use crate::hub::{ChatServer, ClientMessage, Connect, Disconnect, Frame, Join, SessionId};
use crate::protocol::{self, Packet};

/// The next session's number.
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// Engine.IO settings, the same for every session.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub max_payload: usize,
}

/// One client connection.
pub struct WsChatSession {
    id: SessionId,
    hub: Addr<ChatServer>,
    settings: Settings,
    /// Connected to the main namespace (`40` received).
    connected: bool,
    /// A ping is out and its pong not back yet.
    awaiting_pong: bool,
    /// The heartbeat's one timer: the next ping, or the deadline of the ping that is out.
    heartbeat: Option<SpawnHandle>,
}

impl WsChatSession {
    pub fn new(hub: Addr<ChatServer>, settings: Settings) -> WsChatSession {
        WsChatSession {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            hub,
            settings,
            connected: false,
            awaiting_pong: false,
            heartbeat: None,
        }
    }

    /// Engine.IO v4 heartbeat: a ping `2` every ping interval after the last pong; no pong within
    /// the ping timeout closes the connection.
    fn schedule_ping(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let handle = ctx.run_later(self.settings.ping_interval, |act, ctx| {
            ctx.text("2");
            act.awaiting_pong = true;
            let deadline = ctx.run_later(act.settings.ping_timeout, |_, ctx| close(ctx));
            act.heartbeat = Some(deadline);
        });
        self.heartbeat = Some(handle);
    }

    fn on_pong(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        if !self.awaiting_pong {
            return;
        }
        self.awaiting_pong = false;
        if let Some(deadline) = self.heartbeat.take() {
            ctx.cancel_future(deadline);
        }
        self.schedule_ping(ctx);
    }

    fn on_text(&mut self, text: &str, ctx: &mut ws::WebsocketContext<Self>) {
        match protocol::parse(text) {
            Packet::Pong => self.on_pong(ctx),
            Packet::Close => close(ctx),
            Packet::Connect => {
                self.connected = true;
                ctx.text(format!(r#"40{{"sid":"{}"}}"#, socket_sid(self.id)));
            }
            Packet::ConnectOther(nsp) => {
                ctx.text(format!(r#"44/{nsp},{{"message":"Invalid namespace"}}"#))
            }
            Packet::Event { ack, name, args } if self.connected => {
                self.on_event(ack, name, &args, ctx)
            }
            Packet::Event { .. } | Packet::Other => {}
        }
    }

    /// The three events of the benchmark contract; others are ignored.
    fn on_event(
        &mut self,
        ack: Option<u64>,
        name: &str,
        args: &[&serde_json::value::RawValue],
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        match name {
            r#""join""# => {
                let Some(room) = args.first() else { return };
                let join = self.hub.send(Join {
                    id: self.id,
                    room: protocol::room(room),
                });
                // Ack once the hub has the member, as Node acks after `socket.join`.
                ctx.spawn(join.into_actor(self).map(move |result, _, ctx| {
                    if let (Ok(()), Some(ack)) = (result, ack) {
                        ctx.text(protocol::ack_frame(ack, &[]));
                    }
                }));
            }
            r#""broadcast""# => {
                let Some((room, rest)) = args.split_first() else {
                    return;
                };
                self.hub.do_send(ClientMessage {
                    id: self.id,
                    room: protocol::room(room),
                    frame: protocol::msg_frame(rest).into(),
                });
            }
            r#""echo""# => {
                if let Some(ack) = ack {
                    ctx.text(protocol::ack_frame(ack, args));
                }
            }
            _ => {}
        }
    }
}

/// Ends the session: a WebSocket close frame, then the actor stops (and the connection with it).
fn close(ctx: &mut ws::WebsocketContext<WsChatSession>) {
    ctx.close(None);
    ctx.stop();
}

/// The Engine.IO session id. Not secret: the floor serves benchmarks only.
fn engine_sid(id: SessionId) -> String {
    format!("floorE{id:014}")
}

/// The Socket.IO socket id (distinct from the Engine.IO one, as in Socket.IO v5).
fn socket_sid(id: SessionId) -> String {
    format!("floorS{id:014}")
}

impl Actor for WsChatSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.text(format!(
            r#"0{{"sid":"{}","upgrades":[],"pingInterval":{},"pingTimeout":{},"maxPayload":{}}}"#,
            engine_sid(self.id),
            self.settings.ping_interval.as_millis(),
            self.settings.ping_timeout.as_millis(),
            self.settings.max_payload,
        ));
        self.hub.do_send(Connect {
            id: self.id,
            addr: ctx.address().recipient(),
        });
        self.schedule_ping(ctx);
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.hub.do_send(Disconnect { id: self.id });
        Running::Stop
    }
}

impl Handler<Frame> for WsChatSession {
    type Result = ();

    fn handle(&mut self, frame: Frame, ctx: &mut Self::Context) {
        ctx.text(frame.0);
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsChatSession {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match msg {
            Ok(ws::Message::Text(text)) => self.on_text(&text, ctx),
            Ok(ws::Message::Ping(payload)) => ctx.pong(&payload),
            Ok(ws::Message::Pong(_) | ws::Message::Nop) => {}
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            // Binary frames (attachments) and fragmented messages are beyond the floor.
            Ok(ws::Message::Binary(_) | ws::Message::Continuation(_)) | Err(_) => close(ctx),
        }
    }
}
