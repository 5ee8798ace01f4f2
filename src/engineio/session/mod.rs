//! The session actor: one per Engine.IO connection, independent of its current transport.
//!
//! A session starts on long-polling or on a WebSocket. Every outgoing frame goes into the session's
//! bounded [`Outbox`], which each GET drains on polling and the WebSocket's task drains on a
//! WebSocket. An upgrade swaps the writer under the same outbox, so the layer above never notices
//! and the frames queued before the switch go out first.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::task::Waker;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use super::config::EngineConfig;
use super::connection::EngineConnection;
use super::error::EngineError;
use super::handler::{EngineHandler, Handshake};
use super::outbox::{Outbox, PushError};
use super::packet::{Frame, Packet};
use super::sid::Sid;
use super::sink::TransportSink;
use super::socket::{worker_inbox_here, EngineSocket};
use super::traffic::count_inbound;
use super::types::{CloseReason, Frames, SendOptions, TransportId, TransportKind, POLLING};

mod messages;
pub use messages::*;

/// How long a server-closed polling session waits for the client's next GET to hand over its last
/// frames and the close packet.
const POLLING_CLOSE_LINGER: Duration = Duration::from_secs(5);

/// How long a pending GET is held after an upgrade probe before a noop releases it, so that an upgrade
/// packet already on its way lands first (the reference server checks every 100 ms).
const UPGRADE_RELEASE_DELAY: Duration = Duration::from_millis(20);

/// What answers a pending GET: frames, or an error status.
type PollSender = oneshot::Sender<Result<Vec<Frame>, EngineError>>;

enum Transport {
    Polling {
        /// The pending GET, if any, waiting for frames.
        waiting: Option<PollSender>,
    },
    WebSocket {
        id: TransportId,
        sink: Arc<dyn TransportSink>,
    },
}

/// A WebSocket being probed for an upgrade from polling.
struct Probe {
    id: TransportId,
    sink: Arc<dyn TransportSink>,
    timeout: SpawnHandle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// Closed for the layer above; a polling session still hands its last frames to one more GET.
    Closing,
}

/// The Engine.IO session actor.
pub struct EngineSession {
    sid: Sid,
    config: Arc<EngineConfig>,
    registry: Registry,
    /// Builds the upper layer's connection once the actor has an address. Boxed: used once at
    /// the start, it would otherwise keep a handshake's room in the actor for its whole life.
    opener: Option<Box<(Arc<dyn EngineHandler>, Handshake)>>,
    connection: Option<Box<dyn EngineConnection>>,
    transport: Transport,
    probe: Option<Probe>,
    /// The frames on their way to the client, shared with the session's sockets.
    outbox: Arc<Outbox>,
    /// What a waiting GET parks in the outbox (made at the first GET that waits).
    get_waker: Option<Waker>,
    ping_timeout: Option<SpawnHandle>,
    state: State,
    opened_at: Instant,
    /// Who is behind the session, for the log line at close (set by the layer above).
    label: Arc<OnceLock<String>>,
    /// A deliberate close asked for during an upgrade, carried out once the upgrade ends, so
    /// the client (which paused polling) gets the last frames on the transport it ends up on.
    pending_close: Option<CloseReason>,
}

impl EngineSession {
    /// A session that starts on long-polling.
    pub fn polling(
        config: Arc<EngineConfig>,
        registry: Registry,
        handler: Arc<dyn EngineHandler>,
        handshake: Handshake,
    ) -> EngineSession {
        EngineSession {
            sid: handshake.sid.clone(),
            config: Arc::clone(&config),
            registry,
            opener: Some(Box::new((handler, handshake))),
            connection: None,
            transport: Transport::Polling { waiting: None },
            probe: None,
            outbox: Arc::new(Outbox::new(
                config.max_queue,
                config.max_queue_bytes,
                TransportKind::Polling,
            )),
            get_waker: None,
            ping_timeout: None,
            state: State::Open,
            opened_at: Instant::now(),
            label: Arc::new(OnceLock::new()),
            pending_close: None,
        }
    }

    /// A session that starts on a WebSocket, whose sink is `sink`.
    pub fn websocket(
        config: Arc<EngineConfig>,
        registry: Registry,
        handler: Arc<dyn EngineHandler>,
        handshake: Handshake,
        id: TransportId,
        sink: Arc<dyn TransportSink>,
    ) -> EngineSession {
        let outbox = Outbox::new(
            config.max_queue,
            config.max_queue_bytes,
            TransportKind::WebSocket,
        );
        let session = EngineSession::polling(config, registry, handler, handshake);
        EngineSession {
            transport: Transport::WebSocket { id, sink },
            outbox: Arc::new(outbox),
            ..session
        }
    }

    /// The open packet: `0{"sid","upgrades","pingInterval","pingTimeout","maxPayload"}`.
    fn open_frame(&self, upgrades: bool) -> Frame {
        let handshake = serde_json::json!({
            "sid": self.sid.as_str(),
            "upgrades": if upgrades { vec!["websocket"] } else { vec![] },
            "pingInterval": self.config.ping_interval.as_millis() as u64,
            "pingTimeout": self.config.ping_timeout.as_millis() as u64,
            "maxPayload": self.config.max_payload,
        });
        Frame::open(&handshake.to_string())
    }

    /// Open, on polling, and not already probing a WebSocket.
    fn upgradable(&self) -> bool {
        self.state == State::Open
            && self.probe.is_none()
            && matches!(self.transport, Transport::Polling { .. })
    }

    fn transport_kind(&self) -> TransportKind {
        match self.transport {
            Transport::Polling { .. } => TransportKind::Polling,
            Transport::WebSocket { .. } => TransportKind::WebSocket,
        }
    }

    fn schedule_ping(&mut self, ctx: &mut Context<Self>) {
        // The deadline counts from when the ping was due, not from when the timer fired, so timer
        // lag does not give a silent client extra time.
        let deadline = Instant::now() + self.config.ping_interval + self.config.ping_timeout;
        ctx.run_later(self.config.ping_interval, move |session, ctx| {
            if session.state != State::Open {
                return;
            }
            session.push(Frames::One(Frame::ping()), ctx);
            let remaining = deadline.saturating_duration_since(Instant::now());
            let timeout = ctx.run_later(remaining, |session, ctx| {
                session.close(CloseReason::PingTimeout, ctx);
            });
            session.ping_timeout = Some(timeout);
        });
    }

    fn on_pong(&mut self, ctx: &mut Context<Self>) {
        if let Some(timeout) = self.ping_timeout.take() {
            ctx.cancel_future(timeout);
            self.schedule_ping(ctx);
        }
    }

    /// Queues the session's own frames (the open packet, pings) in its outbox.
    fn push(&mut self, frames: Frames, ctx: &mut Context<Self>) {
        if self.outbox.push(frames, SendOptions::default()) == Err(PushError::Full) {
            self.close(CloseReason::SlowConsumer, ctx);
        }
    }

    /// The GET waiting for frames, if any, taken: the outbox no longer wakes the session for it.
    fn take_waiting(&mut self) -> Option<PollSender> {
        let Transport::Polling { waiting } = &mut self.transport else {
            return None;
        };
        self.outbox.unpark();
        waiting.take()
    }

    /// Hands what waits in the outbox to a waiting GET, if there is one.
    fn flush_polling(&mut self) {
        if self.outbox.is_empty() {
            return;
        }
        if let Some(sender) = self.take_waiting() {
            let frames = self.outbox.take(None).into_frames();
            if let Err(Ok(frames)) = sender.send(Ok(frames)) {
                // The client gave up on that GET: keep the frames, in order, for the next one.
                self.outbox.put_back(frames);
            }
        }
    }

    /// Answers a pending GET with a noop so the client can pause polling during an upgrade.
    fn release_polling(&mut self) {
        if let Some(sender) = self.take_waiting() {
            let mut frames = self.outbox.take(None).into_frames();
            if frames.is_empty() {
                frames.push(Frame::noop());
            }
            if let Err(Ok(frames)) = sender.send(Ok(frames)) {
                self.outbox
                    .put_back(frames.into_iter().filter(|f| *f != Frame::noop()).collect());
            }
        }
    }

    fn on_packet(&mut self, packet: Packet, from: TransportId, ctx: &mut Context<Self>) {
        if self.probe.as_ref().is_some_and(|probe| probe.id == from) {
            self.on_probe_packet(packet, ctx);
            return;
        }
        let active = match self.transport {
            Transport::Polling { .. } => POLLING,
            Transport::WebSocket { id, .. } => id,
        };
        if from != active {
            return;
        }
        match packet {
            Packet::Message(message) => {
                count_inbound(&message);
                if let Some(connection) = self.connection.as_mut() {
                    connection.on_message(message);
                }
            }
            Packet::Pong { probe: false } => self.on_pong(ctx),
            Packet::Close => self.close(CloseReason::TransportClose, ctx),
            Packet::Ping { .. } | Packet::Pong { probe: true } | Packet::Upgrade | Packet::Noop => {
            }
        }
    }

    fn on_probe_packet(&mut self, packet: Packet, ctx: &mut Context<Self>) {
        match packet {
            Packet::Ping { probe: true } => {
                if let Some(probe) = &self.probe {
                    probe.sink.answer_probe();
                }
                ctx.run_later(UPGRADE_RELEASE_DELAY, |session, _| {
                    session.release_polling()
                });
            }
            Packet::Upgrade => self.finish_upgrade(ctx),
            _ => {
                tracing::debug!(sid = %self.sid, ?packet, "unexpected packet during upgrade");
                self.probe_failed(ctx);
            }
        }
    }

    fn finish_upgrade(&mut self, ctx: &mut Context<Self>) {
        let Some(probe) = self.probe.take() else {
            return;
        };
        ctx.cancel_future(probe.timeout);
        // A client that follows the protocol paused polling before upgrading; a GET still pending
        // belongs to one that did not.
        if let Some(sender) = self.take_waiting() {
            let _ = sender.send(Err(EngineError::BadRequest));
        }
        // The frames queued meanwhile stay in the outbox: the WebSocket writes them first.
        self.outbox.upgrade();
        probe.sink.attach(Arc::clone(&self.outbox));
        self.transport = Transport::WebSocket {
            id: probe.id,
            sink: probe.sink,
        };
        let metrics = crate::metrics::get();
        metrics.upgrades.inc();
        metrics.connections.with_label_values(&["polling"]).dec();
        metrics.connections.with_label_values(&["websocket"]).inc();
        tracing::debug!(sid = %self.sid, "upgraded to websocket");
        if let Some(connection) = self.connection.as_mut() {
            connection.on_upgrade();
        }
        if let Some(reason) = self.pending_close.take() {
            self.close(reason, ctx);
        }
    }

    fn abandon_probe(&mut self, ctx: &mut Context<Self>) {
        if let Some(probe) = self.probe.take() {
            ctx.cancel_future(probe.timeout);
            probe.sink.close(CloseReason::TransportError);
        }
    }

    /// The upgrade failed: polling goes on, and a close deferred for the upgrade happens now.
    fn probe_failed(&mut self, ctx: &mut Context<Self>) {
        self.abandon_probe(ctx);
        if let Some(reason) = self.pending_close.take() {
            self.close(reason, ctx);
        }
    }

    /// One log line and the metrics for a closing session.
    fn record_close(&self, reason: CloseReason) {
        let metrics = crate::metrics::get();
        metrics
            .disconnects
            .with_label_values(&[reason.as_str()])
            .inc();
        if reason == CloseReason::SlowConsumer {
            metrics.slow_consumer_drops.inc();
        }
        tracing::info!(
            sid = %self.sid,
            transport = self.transport_kind().as_str(),
            user = self.label.get().map(String::as_str).unwrap_or("-"),
            reason = reason.as_str(),
            duration_ms = self.opened_at.elapsed().as_millis() as u64,
            "connection closed"
        );
    }

    /// Forgets the session at once (later requests get "Session ID unknown") and stops the actor.
    fn finish(&mut self, ctx: &mut Context<Self>) {
        self.registry.remove(&self.sid);
        ctx.stop();
    }

    /// Ends the session for the layer above and closes the transport once the queued frames are out.
    fn close(&mut self, reason: CloseReason, ctx: &mut Context<Self>) {
        if self.state != State::Open {
            return;
        }
        let deliberate = matches!(
            reason,
            CloseReason::ServerClose | CloseReason::ServerShutdown
        );
        if deliberate && self.probe.is_some() {
            // Mid-upgrade the client has paused polling; close once it is on one transport.
            self.pending_close = Some(reason);
            return;
        }
        self.state = State::Closing;
        self.outbox.close();
        if let Some(timeout) = self.ping_timeout.take() {
            ctx.cancel_future(timeout);
        }
        self.abandon_probe(ctx);
        self.record_close(reason);
        if let Some(mut connection) = self.connection.take() {
            connection.on_close(reason);
        }
        match &self.transport {
            Transport::WebSocket { sink, .. } => {
                sink.close(reason);
                self.finish(ctx);
            }
            Transport::Polling { waiting } => {
                // The server's own decision to close is announced with a close packet after the
                // queued frames; a client that closed, broke the protocol or vanished is just let go
                // (a pending GET gets a noop, as the reference server does).
                let announce = matches!(
                    reason,
                    CloseReason::ServerClose | CloseReason::ServerShutdown
                ) || reason == CloseReason::TransportError && waiting.is_some();
                // A GET racing the close (sent just before, arriving just after) still gets an answer.
                let linger = announce || reason == CloseReason::TransportClose;
                let waiting = self.take_waiting();
                let mut frames = self.outbox.take(None).into_frames();
                if announce {
                    frames.push(Frame::close());
                } else if frames.is_empty() {
                    frames.push(Frame::noop());
                }
                match waiting {
                    Some(sender) => {
                        let _ = sender.send(Ok(frames));
                        self.finish(ctx);
                    }
                    None if linger => {
                        self.outbox.put_back(frames);
                        ctx.run_later(POLLING_CLOSE_LINGER, |session, ctx| session.finish(ctx));
                    }
                    None => self.finish(ctx),
                }
            }
        }
    }
}

impl Actor for EngineSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.config.max_queue);
        crate::metrics::get()
            .connections
            .with_label_values(&[self.transport_kind().as_str()])
            .inc();
        self.registry.insert(self.sid.clone(), ctx.address());
        let upgrades =
            self.config.allow_upgrades && self.transport_kind() == TransportKind::Polling;
        let open = self.open_frame(upgrades);
        self.push(Frames::One(open), ctx);
        if let Some((handler, handshake)) = self.opener.take().map(|opener| *opener) {
            tracing::info!(
                sid = %self.sid,
                transport = handshake.transport.as_str(),
                peer = ?handshake.peer,
                "connection opened"
            );
            let address = ctx.address();
            let socket = EngineSocket::new(
                self.sid.clone(),
                Arc::clone(&self.outbox),
                address.recipient(),
                Arc::clone(&self.label),
                worker_inbox_here(),
            );
            let connection = handler.on_open(socket, handshake);
            match &self.transport {
                // A session that starts on a WebSocket keeps it for life: the WebSocket writes its
                // outbox from the start (the open packet first) and hands messages to the
                // connection itself, without a hop through the session.
                Transport::WebSocket { sink, .. } => {
                    sink.attach(Arc::clone(&self.outbox));
                    sink.adopt(connection);
                }
                Transport::Polling { .. } => self.connection = Some(connection),
            }
        }
        self.schedule_ping(ctx);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.registry.remove(&self.sid);
        self.outbox.close();
        if self.state == State::Open {
            self.record_close(CloseReason::ServerShutdown);
        }
        if let Some(mut connection) = self.connection.take() {
            connection.on_close(CloseReason::ServerShutdown);
        }
        crate::metrics::get()
            .connections
            .with_label_values(&[self.transport_kind().as_str()])
            .dec();
    }
}

/// Live sessions by id.
#[derive(Clone, Default)]
pub struct Registry {
    sessions: Arc<RwLock<HashMap<Sid, Addr<EngineSession>>>>,
}

impl Registry {
    /// Looks a session up.
    pub fn get(&self, sid: &str) -> Option<Addr<EngineSession>> {
        self.read().get(sid).cloned()
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// True when no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every live session (for a shutdown that closes them all).
    pub fn all(&self) -> Vec<Addr<EngineSession>> {
        self.read().values().cloned().collect()
    }

    fn insert(&self, sid: Sid, addr: Addr<EngineSession>) {
        self.write().insert(sid, addr);
    }

    fn remove(&self, sid: &Sid) {
        self.write().remove(sid);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Sid, Addr<EngineSession>>> {
        // Every write is one insert or remove.
        crate::sync::read(&self.sessions)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Sid, Addr<EngineSession>>> {
        crate::sync::write(&self.sessions)
    }
}

#[cfg(test)]
mod inbox_tests;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
