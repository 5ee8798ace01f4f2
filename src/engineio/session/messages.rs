//! The messages a session actor accepts: from transports, from the layer above and the hub.

use std::sync::Arc;
use std::task::{Wake, Waker};

use actix::prelude::*;
use tokio::sync::oneshot;

use super::{EngineSession, PollSender, Probe, State, Transport, UPGRADE_RELEASE_DELAY};
use crate::engineio::error::EngineError;
use crate::engineio::packet::{Frame, Packet};
use crate::engineio::sink::TransportSink;
use crate::engineio::types::{CloseReason, CloseSession, TransportId, POLLING};

/// Frames arrived in the outbox while a GET waits (sent by the outbox's waker, [`GetWaker`]).
#[derive(Message)]
#[rtype(result = "()")]
pub(in crate::engineio) struct FlushPolling;

impl Handler<FlushPolling> for EngineSession {
    type Result = ();

    fn handle(&mut self, _: FlushPolling, _: &mut Self::Context) {
        self.flush_polling();
    }
}

/// The waker a polling session parks in its outbox while a GET waits: the outbox's writer is the
/// session actor, told through its mailbox.
pub(super) struct GetWaker(pub(super) Recipient<FlushPolling>);

impl GetWaker {
    /// A waker for the session at `address`.
    pub(super) fn waker(address: Addr<EngineSession>) -> Waker {
        Waker::from(Arc::new(GetWaker(address.recipient())))
    }
}

impl Wake for GetWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.do_send(FlushPolling);
    }
}

impl Handler<CloseSession> for EngineSession {
    type Result = ();

    fn handle(&mut self, msg: CloseSession, ctx: &mut Self::Context) {
        self.close(msg.0, ctx);
    }
}

/// Packets a transport received from the client.
#[derive(Message)]
#[rtype(result = "Result<(), EngineError>")]
pub struct Incoming {
    pub from: TransportId,
    pub packets: Vec<Packet>,
}

impl Handler<Incoming> for EngineSession {
    type Result = Result<(), EngineError>;

    fn handle(&mut self, msg: Incoming, ctx: &mut Self::Context) -> Self::Result {
        if msg.from == POLLING && matches!(self.transport, Transport::WebSocket { .. }) {
            return Err(EngineError::BadRequest);
        }
        for packet in msg.packets {
            if self.state != State::Open {
                break;
            }
            self.on_packet(packet, msg.from, ctx);
        }
        Ok(())
    }
}

/// A transport broke the protocol or went away.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TransportClosed {
    pub from: TransportId,
    pub reason: CloseReason,
}

impl Handler<TransportClosed> for EngineSession {
    type Result = ();

    fn handle(&mut self, msg: TransportClosed, ctx: &mut Self::Context) {
        if self
            .probe
            .as_ref()
            .is_some_and(|probe| probe.id == msg.from)
        {
            self.probe_failed(ctx);
            return;
        }
        let active = match self.transport {
            Transport::Polling { .. } => POLLING,
            Transport::WebSocket { id, .. } => id,
        };
        if msg.from == active {
            self.close(msg.reason, ctx);
        }
    }
}

/// What a long-polling GET gets.
pub enum PollReply {
    /// Frames ready now.
    Ready(Vec<Frame>),
    /// Wait for frames (or a noop/close that releases the request).
    Wait(oneshot::Receiver<Result<Vec<Frame>, EngineError>>),
}

/// A long-polling GET.
#[derive(Message)]
#[rtype(result = "Result<PollReply, EngineError>")]
pub struct Poll;

impl Handler<Poll> for EngineSession {
    type Result = Result<PollReply, EngineError>;

    fn handle(&mut self, _: Poll, ctx: &mut Self::Context) -> Self::Result {
        if self.state == State::Closing {
            self.finish(ctx);
            return Ok(PollReply::Ready(self.outbox.take(None).into_frames()));
        }
        let Transport::Polling { waiting } = &mut self.transport else {
            return Err(EngineError::BadRequest);
        };
        if waiting.as_ref().is_some_and(|sender| !sender.is_closed()) {
            tracing::warn!(sid = %self.sid, "concurrent GET on a polling session");
            self.close(CloseReason::TransportError, ctx);
            return Err(EngineError::BadRequest);
        }
        // Frames waiting go at once; otherwise the GET waits, and the outbox wakes the session
        // when frames arrive (checked and parked under one lock).
        let waker = self
            .get_waker
            .get_or_insert_with(|| GetWaker::waker(ctx.address()));
        let frames = self.outbox.take(Some(waker)).into_frames();
        if !frames.is_empty() {
            return Ok(PollReply::Ready(frames));
        }
        let (sender, receiver) = oneshot::channel();
        *waiting = Some(sender);
        if self.probe.is_some() {
            ctx.run_later(UPGRADE_RELEASE_DELAY, |session, _| {
                session.release_polling()
            });
        }
        Ok(PollReply::Wait(receiver))
    }
}

/// A pending GET went away before its answer (its client aborted it, or the network cut it).
#[derive(Message)]
#[rtype(result = "()")]
pub struct GetAbandoned;

impl Handler<GetAbandoned> for EngineSession {
    type Result = ();

    fn handle(&mut self, _: GetAbandoned, ctx: &mut Self::Context) {
        // Only if the abandoned GET is still the one waiting: a GET answered meanwhile, replaced by
        // a newer one or released for an upgrade is no news.
        let Transport::Polling { waiting } = &self.transport else {
            return;
        };
        if waiting.as_ref().is_some_and(PollSender::is_closed) {
            tracing::info!(sid = %self.sid, "pending GET abandoned by the client or the network");
            self.close(CloseReason::TransportError, ctx);
        }
    }
}

/// Can this session be upgraded to a WebSocket now?
#[derive(Message)]
#[rtype(result = "bool")]
pub struct CheckUpgrade;

impl Handler<CheckUpgrade> for EngineSession {
    type Result = bool;

    fn handle(&mut self, _: CheckUpgrade, _: &mut Self::Context) -> bool {
        self.upgradable()
    }
}

/// A new WebSocket asks to become this session's transport (the probe of an upgrade).
#[derive(Message)]
#[rtype(result = "()")]
pub struct BeginProbe {
    pub id: TransportId,
    pub sink: Arc<dyn TransportSink>,
}

impl Handler<BeginProbe> for EngineSession {
    type Result = ();

    fn handle(&mut self, msg: BeginProbe, ctx: &mut Self::Context) {
        if !self.upgradable() {
            msg.sink.close(CloseReason::TransportError);
            return;
        }
        let timeout = ctx.run_later(self.config.upgrade_timeout, |session, ctx| {
            tracing::debug!(sid = %session.sid, "upgrade timed out");
            session.probe_failed(ctx);
        });
        self.probe = Some(Probe {
            id: msg.id,
            sink: msg.sink,
            timeout,
        });
    }
}
