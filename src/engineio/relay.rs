//! WebSocket upgrades relayed between nodes: a client's upgrade that lands on another node than
//! its session's is accepted there and carried to the owner through the
//! [`SessionRouter`](super::SessionRouter).
//!
//! The entry node writes the client's frames to a [`RelayUplink`] (the router carries them to the
//! owner) and gives the router a [`RelayDownlink`] to the socket for the owner's frames. The owner
//! attaches the relay to its session with [`Engine::attach_relay`], which answers a
//! [`RelayedSocket`]: the session probes and upgrades to it as to a local WebSocket.

use std::collections::HashMap;
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use actix::Addr;

use super::error::EngineError;
use super::outbox::Outbox;
use super::packet::{Frame, Message, Packet};
use super::session::{BeginProbe, EngineSession, Incoming, TransportClosed};
use super::sink::{SinkFull, TransportSink};
use super::types::{CloseReason, Frames, SendOptions, TransportId};
use super::Engine;

/// The entry node's end of a relayed WebSocket: carries the client's frames to the owner.
pub trait RelayUplink: Send + 'static {
    /// Hands one frame of the client to the owner; an error means the relay's buffer is full.
    fn send(&mut self, frame: Frame) -> Result<(), SinkFull>;
    /// The client's socket ended for `reason` (the owner's session is told).
    fn close(&mut self, reason: CloseReason);
}

/// The entry node's handle on the client's socket of a relay: the owner's frames are written to
/// it, through an outbox of its own (bounded as a session's).
#[derive(Clone)]
pub struct RelayDownlink {
    outbox: Arc<Outbox>,
    socket: Arc<dyn TransportSink>,
}

impl RelayDownlink {
    /// The socket's handle, writing `outbox` (already attached to it).
    pub(super) fn new(outbox: Arc<Outbox>, socket: Arc<dyn TransportSink>) -> RelayDownlink {
        RelayDownlink { outbox, socket }
    }

    /// Queues the owner's frames for the client; an error means the client fell behind.
    pub fn send(&self, frames: Vec<Frame>) -> Result<(), SinkFull> {
        self.outbox
            .push(Frames::Shared(frames.into()), SendOptions::default())
            .map_err(|_| SinkFull)
    }

    /// Closes the socket once what was queued before is written.
    pub fn close(&self, reason: CloseReason) {
        self.socket.close(reason);
    }
}

/// Hands what a relayed session's outbox takes to `forward` (on the owner, which publishes it
/// to the entry node), until `forward` answers false or [`OutboxForwarder::finish`].
pub fn forward_outbox(
    outbox: Arc<Outbox>,
    mut forward: impl FnMut(Vec<Frame>) -> bool + 'static,
) -> OutboxForwarder {
    let reader = Arc::clone(&outbox);
    let task = actix_rt::spawn(async move {
        loop {
            let frames = poll_fn(|cx| {
                let frames = reader.take(Some(cx.waker())).into_frames();
                if frames.is_empty() {
                    Poll::Pending
                } else {
                    Poll::Ready(frames)
                }
            })
            .await;
            if !forward(frames) {
                return;
            }
        }
    });
    OutboxForwarder { outbox, task }
}

/// The task of [`forward_outbox`].
pub struct OutboxForwarder {
    outbox: Arc<Outbox>,
    task: actix_rt::task::JoinHandle<()>,
}

impl OutboxForwarder {
    /// Stops forwarding; answers the frames still waiting (a closing session's last ones).
    pub fn finish(self) -> Vec<Frame> {
        self.task.abort();
        self.outbox.take(None).into_frames()
    }
}

/// The owner's end of a relayed WebSocket: a transport of one of this node's sessions.
pub struct RelayedSocket {
    id: TransportId,
    session: Addr<EngineSession>,
}

impl RelayedSocket {
    /// Hands a frame the client sent to the session, as its WebSocket would; a malformed packet
    /// ends the transport as a protocol error.
    pub fn deliver(&self, frame: Frame) {
        let packet = match frame {
            Frame::Text(text) => match Packet::decode_text(text) {
                Ok(packet) => packet,
                Err(error) => {
                    tracing::warn!(%error, "malformed packet on a relayed WebSocket; closing it");
                    self.closed(CloseReason::TransportError);
                    return;
                }
            },
            Frame::Binary(bytes) => Packet::Message(Message::Binary(bytes)),
        };
        self.session.do_send(Incoming {
            from: self.id,
            packets: vec![packet],
        });
    }

    /// The client's socket (or the relay) ended for `reason`.
    pub fn closed(&self, reason: CloseReason) {
        self.session.do_send(TransportClosed {
            from: self.id,
            reason,
        });
    }
}

impl Engine {
    /// Attaches a WebSocket relayed from another node to session `sid` of this node, as a probe
    /// of its upgrade; the session's frames go to `sink`. A session that cannot upgrade now
    /// closes `sink` at once, as it does a local WebSocket's.
    pub fn attach_relay(
        &self,
        sid: &str,
        sink: Arc<dyn TransportSink>,
    ) -> Result<RelayedSocket, EngineError> {
        let session = self.registry.get(sid).ok_or(EngineError::UnknownSid)?;
        let id = super::websocket::next_transport_id();
        session.do_send(BeginProbe { id, sink });
        Ok(RelayedSocket { id, session })
    }
}

/// The WebSockets this node relays to other nodes' sessions, by transport id, so that a shutdown
/// closes them as it closes the sessions (they are none of this node's sessions).
#[derive(Clone, Default)]
pub(super) struct RelayedHere(Arc<Mutex<HashMap<TransportId, Arc<dyn TransportSink>>>>);

impl RelayedHere {
    /// A relayed socket starts.
    pub(super) fn insert(&self, id: TransportId, sink: Arc<dyn TransportSink>) {
        crate::sync::lock(&self.0).insert(id, sink);
    }

    /// A relayed socket ended.
    pub(super) fn remove(&self, id: TransportId) {
        crate::sync::lock(&self.0).remove(&id);
    }

    /// Closes every relayed socket (its owner's session is told the transport closed).
    pub(super) fn close_all(&self, reason: CloseReason) {
        let sinks: Vec<_> = crate::sync::lock(&self.0).values().cloned().collect();
        for sink in sinks {
            sink.close(reason);
        }
    }
}
