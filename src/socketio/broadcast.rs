//! [`BroadcastOperator`]: emit to many sockets at once (`io.to(room).emit(…)`), with or without
//! asking each of them for an acknowledgement.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::adapter::{AckRequest, Adapter, BroadcastOptions};
use super::broadcast_ack::collect;
use super::error::{BroadcastAckError, EmitError};
use super::packet::{Packet, RESERVED_EVENTS};
use super::parser::Parser;
use super::payload::Payload;
use super::pending_acks::next_ack_id;
use super::recovery::next_offset;
use super::types::Room;
use super::SocketId;
use crate::engineio::SendOptions;

/// Selects sockets of one namespace by room, then emits to them. Build it with `to`/`except`.
#[derive(Clone)]
pub struct BroadcastOperator {
    pub(super) nsp: Arc<str>,
    pub(super) adapter: Arc<dyn Adapter>,
    pub(super) options: BroadcastOptions,
    /// Append a recovery offset to each packet.
    pub(super) recovery: bool,
    /// How packets are written.
    pub(super) parser: Parser,
}

impl BroadcastOperator {
    pub(crate) fn new(
        nsp: Arc<str>,
        adapter: Arc<dyn Adapter>,
        except: Option<SocketId>,
        recovery: bool,
        parser: Parser,
    ) -> BroadcastOperator {
        BroadcastOperator {
            nsp,
            adapter,
            options: BroadcastOptions {
                except,
                ..BroadcastOptions::default()
            },
            recovery,
            parser,
        }
    }

    /// Also targets the sockets in `room`.
    pub fn to(mut self, room: impl Into<Room>) -> BroadcastOperator {
        self.options.rooms.push(room.into());
        self
    }

    /// Leaves out the sockets in `room`.
    pub fn except(mut self, room: impl Into<Room>) -> BroadcastOperator {
        self.options.except_rooms.push(room.into());
        self
    }

    /// Only this node's sockets: the broadcast is not sent through the cluster (Node's
    /// `io.local.emit`).
    pub fn local(mut self) -> BroadcastOperator {
        self.options.local = true;
        self
    }

    /// Drops the event for each recipient whose transport cannot take it right now (a polling
    /// client with no GET waiting, a full queue or buffer) instead of queuing it (Node's
    /// `volatile`): for frequent, disposable updates.
    pub fn volatile(mut self) -> BroadcastOperator {
        self.options.send.volatile = true;
        self
    }

    /// Whether the transport may compress the event (Node's `compress`; on by default). A hint
    /// for a transport that compresses.
    pub fn compress(mut self, compress: bool) -> BroadcastOperator {
        self.options.send.compress = compress;
        self
    }

    /// Sends with these options (a socket's own emit, through the adapter).
    pub(crate) fn send_options(mut self, send: SendOptions) -> BroadcastOperator {
        self.options.send = send;
        self
    }

    /// Emits an event to every selected socket. The packet is encoded once. With recovery on,
    /// its offset is appended as the last argument, as Socket.IO does (not to a volatile event,
    /// which is neither logged nor replayed).
    pub fn emit(mut self, event: &str, mut payload: Payload) -> Result<(), EmitError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::ReservedEvent);
        }
        // A volatile event is not logged for replay, as in Node.
        if self.recovery && !self.options.send.volatile {
            let offset = next_offset();
            payload.args_mut().push(offset.as_str().into());
            self.options.offset = Some(offset.into());
        }
        let packet = Packet::Event {
            nsp: String::from(&*self.nsp),
            event: event.to_string(),
            payload,
            id: None,
        };
        self.adapter
            .broadcast(&self.nsp, self.parser.shared_frames(&packet), self.options);
        Ok(())
    }

    /// Emits an event asking every selected socket, on every node, for an acknowledgement, and
    /// resolves to their answers in arrival order (Node's `io.to(room).timeout(ms).emitWithAck(…)`).
    ///
    /// Each answer is the client's first ack argument (`null` if it gave none), with the binary
    /// attachments it points at: Socket.IO's cluster protocol carries only that one across nodes.
    /// The event is sent (and encoded once, for every recipient) when this is called; the future
    /// only collects. It resolves as soon as every node has told how many clients it reached and
    /// that many answers came. Otherwise, after `timeout`, it fails with
    /// [`BroadcastAckError::Timeout`], which keeps the answers that arrived. A client that
    /// disconnects without answering is waited for until then too, as in Socket.IO.
    ///
    /// The packet carries no recovery offset (Socket.IO does not log these either): a client that
    /// is away misses it.
    pub fn emit_with_ack(
        self,
        event: &str,
        payload: Payload,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<Payload>, BroadcastAckError>> + 'static {
        let deadline = Instant::now() + timeout;
        let sent = if RESERVED_EVENTS.contains(&event) {
            Err(BroadcastAckError::ReservedEvent)
        } else {
            let id = next_ack_id();
            let packet = Packet::Event {
                nsp: String::from(&*self.nsp),
                event: event.to_string(),
                payload,
                id: Some(id),
            };
            let (reports, received) = mpsc::unbounded_channel();
            let nodes = self.adapter.broadcast_with_ack(
                &self.nsp,
                AckRequest {
                    frames: self.parser.shared_frames(&packet),
                    options: self.options,
                    id,
                    reports,
                    timeout,
                },
            );
            Ok((nodes, received))
        };
        async move {
            let (nodes, received) = sent?;
            collect(nodes, received, deadline).await
        }
    }

    /// Disconnects the selected sockets on every node; with `close`, their connections are closed
    /// too (Node's `io.in(room).disconnectSockets(close)`). With no room selected, every socket of
    /// the namespace goes. Kept sockets in the rooms can no longer be recovered.
    pub fn disconnect_sockets(self, close: bool) {
        self.adapter
            .disconnect_sockets(&self.nsp, self.options, close);
    }

    /// The rooms of the namespace whose names start with `prefix`, on every node of a cluster.
    pub fn cluster_rooms(&self, prefix: &str) -> BoxFuture<'static, Vec<Room>> {
        self.adapter.rooms(&self.nsp, prefix)
    }

    /// The ids of the selected sockets (room filters only; `except` is not applied).
    pub fn sockets(self) -> BoxFuture<'static, Vec<SocketId>> {
        self.adapter.sockets(&self.nsp, self.options.rooms)
    }

    /// The selected sockets, on every node, join `room` (Node's `socketsJoin`).
    pub fn sockets_join(self, room: impl Into<Room>) {
        self.adapter
            .add_sockets(&self.nsp, self.options, vec![room.into()]);
    }

    /// The selected sockets, on every node, leave `room` (Node's `socketsLeave`).
    pub fn sockets_leave(self, room: impl Into<Room>) {
        self.adapter
            .del_sockets(&self.nsp, self.options, vec![room.into()]);
    }
}
