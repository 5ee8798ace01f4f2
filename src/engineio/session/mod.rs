//! The session actor: one per Engine.IO connection, independent of its current transport.
//!
//! A session starts on long-polling or on a WebSocket. Polling sessions keep their outgoing frames in a
//! bounded queue that each GET drains; WebSocket sessions hand frames straight to the transport's sink.
//! An upgrade swaps the transport under the same actor, so the layer above never notices.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use super::config::EngineConfig;
use super::connection::EngineConnection;
use super::error::EngineError;
use super::handler::{EngineHandler, Handshake};
use super::packet::{Frame, Packet};
use super::queue::OutQueue;
use super::sid::Sid;
use super::sink::TransportSink;
use super::socket::EngineSocket;
use super::traffic::{count_inbound, count_outbound};
use super::types::{CloseReason, Frames, SendOptions, TransportId, TransportKind, POLLING};
use super::worker_inbox::WorkerInbox;

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
    /// Frames waiting for the next GET (polling only).
    queue: OutQueue,
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
            config,
            registry,
            opener: Some(Box::new((handler, handshake))),
            connection: None,
            transport: Transport::Polling { waiting: None },
            probe: None,
            queue: OutQueue::default(),
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
        let session = EngineSession::polling(config, registry, handler, handshake);
        EngineSession {
            transport: Transport::WebSocket { id, sink },
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
            session.push(Frames::One(Frame::ping()), SendOptions::default(), ctx);
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

    /// Queues frames for the client on whichever transport is active.
    fn push(&mut self, frames: Frames, options: SendOptions, ctx: &mut Context<Self>) {
        // Volatile frames go only where the transport can take them now.
        if options.volatile && matches!(self.transport, Transport::Polling { waiting: None }) {
            return;
        }
        count_outbound(frames.as_slice());
        match &mut self.transport {
            Transport::WebSocket { sink, .. } => {
                if sink.send_with(frames, options).is_err() && !options.volatile {
                    self.close(CloseReason::SlowConsumer, ctx);
                }
            }
            Transport::Polling { .. } => {
                let (max_frames, max_bytes) = (self.config.max_queue, self.config.max_queue_bytes);
                if self
                    .queue
                    .push(frames.as_slice(), max_frames, max_bytes)
                    .is_err()
                {
                    if !options.volatile {
                        self.close(CloseReason::SlowConsumer, ctx);
                    }
                    return;
                }
                self.flush_polling();
            }
        }
    }

    /// Hands the queue to a waiting GET, if there is one.
    fn flush_polling(&mut self) {
        let Transport::Polling { waiting } = &mut self.transport else {
            return;
        };
        if self.queue.is_empty() {
            return;
        }
        if let Some(sender) = waiting.take() {
            let frames: Vec<Frame> = self.queue.take();
            if let Err(Ok(frames)) = sender.send(Ok(frames)) {
                // The client gave up on that GET: keep the frames, in order, for the next one.
                self.queue.put_back(frames);
            }
        }
    }

    /// Answers a pending GET with a noop so the client can pause polling during an upgrade.
    fn release_polling(&mut self) {
        if let Transport::Polling { waiting } = &mut self.transport {
            if let Some(sender) = waiting.take() {
                let mut frames: Vec<Frame> = self.queue.take();
                if frames.is_empty() {
                    frames.push(Frame::noop());
                }
                if let Err(Ok(frames)) = sender.send(Ok(frames)) {
                    self.queue
                        .extend(frames.into_iter().filter(|f| *f != Frame::noop()));
                }
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
                    if probe.sink.send(Frames::One(Frame::pong_probe())).is_err() {
                        self.probe_failed(ctx);
                        return;
                    }
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
        if let Transport::Polling { waiting } = &mut self.transport {
            if let Some(sender) = waiting.take() {
                let _ = sender.send(Err(EngineError::BadRequest));
            }
        }
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
        let queued: Vec<Frame> = self.queue.take();
        if !queued.is_empty() {
            self.push(Frames::Shared(queued.into()), SendOptions::default(), ctx);
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
        if let Some(timeout) = self.ping_timeout.take() {
            ctx.cancel_future(timeout);
        }
        self.abandon_probe(ctx);
        self.record_close(reason);
        if let Some(mut connection) = self.connection.take() {
            connection.on_close(reason);
        }
        match &mut self.transport {
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
                let mut frames: Vec<Frame> = self.queue.take();
                if announce {
                    frames.push(Frame::close());
                } else if frames.is_empty() {
                    frames.push(Frame::noop());
                }
                match waiting.take() {
                    Some(sender) => {
                        let _ = sender.send(Ok(frames));
                        self.finish(ctx);
                    }
                    None if linger => {
                        self.queue.extend(frames);
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
        self.push(Frames::One(open), SendOptions::default(), ctx);
        if let Some((handler, handshake)) = self.opener.take().map(|opener| *opener) {
            tracing::info!(
                sid = %self.sid,
                transport = handshake.transport.as_str(),
                peer = ?handshake.peer,
                "connection opened"
            );
            // A session that starts on a WebSocket keeps it for life, so the layer above may write
            // to it directly: one mailbox hop per frame instead of two. Nothing can have been sent
            // through the session before this (the open packet went straight to the sink above),
            // so order is kept. Sessions that start polling always go through the session, which
            // must hold frames back while an upgrade is under way.
            let direct = match &self.transport {
                Transport::WebSocket { sink, .. } => Some(Arc::clone(sink)),
                Transport::Polling { .. } => None,
            };
            let address = ctx.address();
            let socket = EngineSocket::new(
                self.sid.clone(),
                address.clone().recipient(),
                address.recipient(),
                Arc::clone(&self.label),
                direct.clone(),
                WorkerInbox::current(),
            );
            let connection = handler.on_open(socket, handshake);
            // The same holds the other way: such a session's WebSocket gives messages to the
            // connection itself.
            match direct {
                Some(sink) => sink.adopt(connection),
                None => self.connection = Some(connection),
            }
        }
        self.schedule_ping(ctx);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.registry.remove(&self.sid);
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
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
