//! [`BroadcastOperator`]: emit to many sockets at once (`io.to(room).emit(…)`).

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::adapter::{Adapter, BroadcastOptions, Room};
use super::error::EmitError;
use super::packet::{Packet, RESERVED_EVENTS};
use super::payload::Payload;
use super::recovery::next_offset;
use super::SocketId;

/// Selects sockets of one namespace by room, then emits to them. Build it with `to`/`except`.
#[derive(Clone)]
pub struct BroadcastOperator {
    nsp: Arc<str>,
    adapter: Arc<dyn Adapter>,
    options: BroadcastOptions,
    /// Append a recovery offset to each packet.
    recovery: bool,
}

impl BroadcastOperator {
    pub(crate) fn new(
        nsp: Arc<str>,
        adapter: Arc<dyn Adapter>,
        except: Option<SocketId>,
        recovery: bool,
    ) -> BroadcastOperator {
        BroadcastOperator {
            nsp,
            adapter,
            options: BroadcastOptions {
                except,
                ..BroadcastOptions::default()
            },
            recovery,
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

    /// Emits an event to every selected socket. The packet is encoded once. With recovery on,
    /// its offset is appended as the last argument, as Socket.IO does.
    pub fn emit(mut self, event: &str, mut payload: Payload) -> Result<(), EmitError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::ReservedEvent);
        }
        if self.recovery {
            let offset = next_offset();
            payload.args.push(offset.as_str().into());
            self.options.offset = Some(offset.into());
        }
        let packet = Packet::Event {
            nsp: self.nsp.to_string(),
            event: event.to_string(),
            payload,
            id: None,
        };
        self.adapter
            .broadcast(&self.nsp, packet.to_frames().into(), self.options);
        Ok(())
    }

    /// The ids of the selected sockets (room filters only; `except` is not applied).
    pub fn sockets(self) -> BoxFuture<'static, Vec<SocketId>> {
        self.adapter.sockets(&self.nsp, self.options.rooms)
    }
}
