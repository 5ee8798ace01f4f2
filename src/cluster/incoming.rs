//! What arrives from Redis: other nodes' broadcasts, requests and answers.

use std::sync::Arc;

use super::state::Inner;
use super::wire::{
    ChannelKind, Channels, RequestMessage, ResponseMessage, WireBroadcast, WirePacket,
};
use crate::engineio::SendOptions;
use crate::socketio::{Adapter, BroadcastOptions, Room};

impl Inner {
    /// A message from Redis.
    pub(super) fn on_message(self: &Arc<Self>, message: &redis::Msg) {
        self.status.count_received();
        let payload = message.get_payload_bytes();
        match self.channels.classify(message.get_channel_name()) {
            Some(ChannelKind::Broadcast(rest)) => self.on_broadcast(rest, payload),
            Some(ChannelKind::Request(nsp)) => {
                let Some(nsp) = self.known_namespace(nsp) else {
                    return;
                };
                match RequestMessage::decode(payload) {
                    Ok(request) => self.answer(nsp, request),
                    Err(error) => tracing::debug!(%error, "ignoring a malformed cluster request"),
                }
            }
            Some(ChannelKind::Response(_)) => match ResponseMessage::decode(payload) {
                Ok(response) => self.on_response(response),
                Err(error) => tracing::debug!(%error, "ignoring a malformed cluster response"),
            },
            None => {}
        }
    }

    /// Another node's broadcast: delivered to the matching sockets here.
    pub(super) fn on_broadcast(&self, channel_rest: &str, payload: &[u8]) {
        let message = match WireBroadcast::decode(payload) {
            Ok(message) => message,
            Err(error) => {
                tracing::debug!(%error, "ignoring a malformed cluster broadcast");
                return;
            }
        };
        if message.uid == self.uid {
            return;
        }
        if !Channels::broadcast_is_for(channel_rest, &message.packet.nsp) {
            return;
        }
        let send = message.send_options();
        // An Agora node that logged the packet for recovery carries its offset (Node ignores it).
        let offset = message
            .flags
            .get("offset")
            .and_then(|offset| offset.as_str())
            .map(str::to_owned);
        let WireBroadcast {
            packet,
            rooms,
            except,
            ..
        } = message;
        self.deliver(packet, rooms, except, send, offset);
    }

    /// Delivers a packet from another node to this node's matching sockets, with the offset the
    /// cluster's recovery log gave it (`logged`) or else one of this node; answers whether it was
    /// an event of a namespace served here.
    pub(super) fn deliver(
        &self,
        mut packet: WirePacket,
        rooms: Vec<String>,
        except: Vec<String>,
        send: SendOptions,
        logged: Option<String>,
    ) -> bool {
        let Some(nsp) = self.known_namespace(&packet.nsp) else {
            return false;
        };
        let offset = self.options.recovery.then(|| {
            let offset = logged.unwrap_or_else(crate::socketio::next_offset);
            packet.push_arg(&offset);
            Arc::<str>::from(offset)
        });
        let Some(event) = packet.into_event() else {
            tracing::debug!(%nsp, "ignoring a cluster packet that is not an event");
            return false;
        };
        let frames = self.options.parser.shared_frames(&event);
        let options = BroadcastOptions {
            rooms: rooms.into_iter().map(Room::from).collect(),
            except_rooms: except.into_iter().map(Room::from).collect(),
            offset,
            send,
            ..BroadcastOptions::default()
        };
        self.local.broadcast(&nsp, frames, options);
        true
    }
}
