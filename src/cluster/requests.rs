//! Answers to other nodes' requests (REMOTE_JOIN, SOCKETS, BROADCAST, …).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::mirror::Selected;
use super::state::Inner;
use super::wire::{
    BroadcastRequest, Request, RequestMessage, RequestType, RoomFilter, Target, WireObject,
};
use crate::engineio::CloseReason;
use crate::hub::room_index::Selection;
use crate::socketio::packet::Packet;
use crate::socketio::{
    next_ack_id, AckReport, Adapter, BroadcastOptions, FetchedSocket, Room, SocketId,
};

impl Inner {
    /// Answers another node's request (or carries it out: REMOTE_JOIN, BROADCAST, …). Done
    /// at once, from this node's mirror, so requests and broadcasts take effect in the order
    /// they were published (a `socketsJoin` then an emit to the new room, say).
    pub(super) fn answer(self: &Arc<Self>, nsp: Arc<str>, message: RequestMessage) {
        let RequestMessage {
            uid,
            request_id,
            request,
        } = message;
        let own = uid.as_deref() == Some(self.uid.as_str());
        match request {
            Request::Sockets { rooms } if !own => {
                let ids: Vec<String> = self
                    .mirror()
                    .select(&nsp, to_rooms(&rooms))
                    .into_iter()
                    .map(|socket| socket.id.to_string())
                    .collect();
                self.respond(&nsp, json!({ "requestId": request_id, "sockets": ids }));
            }
            Request::AllRooms { prefix } if !own => {
                // `prefix` is Agora's own narrowing; Node.js requests have none and get them all.
                let rooms: Vec<String> = self
                    .mirror()
                    .rooms(&nsp)
                    .iter()
                    .filter(|r| r.starts_with(prefix.as_str()))
                    .map(|r| r.to_string())
                    .collect();
                self.respond(&nsp, json!({ "requestId": request_id, "rooms": rooms }));
            }
            // Our own request was carried out when it was made.
            Request::RemoteJoin { target, rooms } if !own => {
                self.change_rooms(&nsp, target, rooms, true, request_id);
            }
            Request::RemoteLeave { target, rooms } if !own => {
                self.change_rooms(&nsp, target, rooms, false, request_id);
            }
            // Our own request was carried out when it was made.
            Request::RemoteDisconnect { target, close } if !own => match target {
                Target::Selected(filter) => {
                    let targets = self.mirror().select(&nsp, selection(&filter));
                    for target in targets {
                        self.disconnect(&nsp, target, close);
                    }
                    // Kept sockets in those rooms must not come back either.
                    let rooms = filter.rooms.iter().map(|room| room.to_string()).collect();
                    self.local.forget_detached(&nsp, rooms);
                }
                Target::Socket(sid) => {
                    let target = self
                        .mirror()
                        .select(&nsp, to_rooms(&[Room::from(sid.as_str())]))
                        .into_iter()
                        .find(|target| target.id.as_str() == sid);
                    if let Some(target) = target {
                        self.disconnect(&nsp, target, close);
                        self.respond(&nsp, json!({ "requestId": request_id }));
                    }
                }
            },
            Request::RemoteFetch { filter } if !own => {
                let sockets: Vec<Value> = self
                    .mirror()
                    .select(&nsp, selection(&filter))
                    .into_iter()
                    .map(|selected| {
                        let socket = &selected.socket.details;
                        fetched_json(&FetchedSocket::local(&selected.id, selected.rooms, socket))
                    })
                    .collect();
                self.respond(&nsp, json!({ "requestId": request_id, "sockets": sockets }));
            }
            Request::Broadcast(broadcast) if !own => self.broadcast_for(nsp, broadcast),
            Request::ServerSideEmit { event, args } if !own => {
                self.on_server_side(nsp, event, args, request_id);
            }
            Request::Sockets { .. }
            | Request::AllRooms { .. }
            | Request::RemoteDisconnect { .. }
            | Request::RemoteFetch { .. }
            | Request::RemoteJoin { .. }
            | Request::RemoteLeave { .. }
            | Request::ServerSideEmit { .. }
            | Request::Broadcast(_) => {}
        }
    }

    /// REMOTE_JOIN (`join`) or REMOTE_LEAVE: the target sockets here join or leave `rooms`. The
    /// single-socket form of older Node adapters is answered by the socket's node.
    fn change_rooms(
        &self,
        nsp: &Arc<str>,
        target: Target,
        rooms: Vec<Room>,
        join: bool,
        request_id: Option<String>,
    ) {
        let apply = |id: &SocketId, rooms: Vec<Room>| {
            let mut mirror = self.mirror();
            if join {
                mirror.join(nsp, id, rooms.iter().cloned());
            } else {
                mirror.leave(nsp, id, &rooms);
            }
            drop(mirror);
            // A move of the hub's, which tells the socket's observer (the admin feed).
            let only = BroadcastOptions {
                rooms: vec![Room::from(id.as_str())],
                ..BroadcastOptions::default()
            };
            self.local.move_sockets(nsp, only, rooms, join);
        };
        match target {
            Target::Selected(filter) => {
                let targets = self.mirror().select(nsp, selection(&filter));
                for target in targets {
                    apply(&target.id, rooms.clone());
                }
            }
            Target::Socket(sid) => {
                if self.mirror().contains(nsp, &sid) {
                    apply(&SocketId::from(sid.as_str()), rooms);
                    self.respond(nsp, json!({ "requestId": request_id }));
                }
            }
        }
    }

    /// Disconnects one of this node's sockets for another node.
    pub(super) fn disconnect(&self, nsp: &Arc<str>, target: Selected, close: bool) {
        let frames = self.options.parser.session_frames(&Packet::Disconnect {
            nsp: nsp.to_string(),
        });
        let _ = target.socket.engine.send(frames);
        if close {
            target.socket.engine.close(CloseReason::ServerClose);
        } else {
            self.local.remove_socket(nsp, &target.id);
            self.mirror().remove(nsp, &target.id);
        }
    }

    /// Publishes an answer where Node nodes expect it (the namespace's shared response channel).
    pub(super) fn respond(&self, nsp: &str, body: Value) {
        self.publish(self.channels.response(nsp), body.to_string().into_bytes());
    }

    /// Answers another node's BROADCAST request as Node does: delivers the event to the matching
    /// sockets here with an ack id of this node, publishes BROADCAST_CLIENT_COUNT with how many
    /// they were, then one BROADCAST_ACK per answer, until every one answered or left, or the
    /// request's timeout passed.
    pub(super) fn broadcast_for(self: &Arc<Self>, nsp: Arc<str>, request: BroadcastRequest) {
        let BroadcastRequest {
            request_id,
            event,
            payload,
            filter,
            timeout,
        } = request;
        let id = next_ack_id();
        let frames = self.options.parser.shared_frames(&Packet::Event {
            nsp: nsp.to_string(),
            event,
            payload,
            id: Some(id),
        });
        let options = BroadcastOptions {
            rooms: filter.rooms,
            except_rooms: filter.except,
            ..BroadcastOptions::default()
        };
        let timeout = timeout.unwrap_or(self.options.requests_timeout);
        let (reports, received) = mpsc::unbounded_channel();
        self.local
            .deliver_with_ack(&nsp, frames, options, id, reports);
        actix_rt::spawn(Arc::clone(self).answer_acks(nsp, request_id, received, timeout));
    }

    /// Publishes what this node's sockets report about another node's broadcast with acks.
    pub(super) async fn answer_acks(
        self: Arc<Self>,
        nsp: Arc<str>,
        request_id: String,
        mut reports: mpsc::UnboundedReceiver<AckReport>,
        timeout: Duration,
    ) {
        let deadline = Instant::now() + timeout;
        while let Ok(Some(report)) = tokio::time::timeout_at(deadline, reports.recv()).await {
            match report {
                AckReport::Delivered(clients) => self.respond(
                    &nsp,
                    json!({
                        "type": RequestType::BroadcastClientCount as u8,
                        "requestId": request_id,
                        "clientCount": clients,
                    }),
                ),
                AckReport::Answer(payload) => {
                    let (args, attachments) = payload.into_parts();
                    let answer = WireObject {
                        body: json!({
                            "type": RequestType::BroadcastAck as u8,
                            "requestId": request_id,
                            "packet": args.into_iter().next().unwrap_or(Value::Null),
                        }),
                        attachments,
                    };
                    self.publish(self.channels.response(&nsp), answer.encode());
                }
            }
        }
    }
}

/// The sockets in any of `rooms` (all when empty).
pub(super) fn to_rooms(rooms: &[Room]) -> Selection<'_> {
    Selection {
        rooms,
        except_rooms: &[],
        except: None,
    }
}

/// The sockets a request's `opts` select.
fn selection(filter: &RoomFilter) -> Selection<'_> {
    Selection {
        rooms: &filter.rooms,
        except_rooms: &filter.except,
        except: None,
    }
}

/// A socket as a REMOTE_FETCH answer lists it (Node's shape).
fn fetched_json(socket: &FetchedSocket) -> Value {
    let rooms: Vec<&str> = socket.rooms.iter().map(|room| &**room).collect();
    json!({
        "id": socket.id.as_str(),
        "handshake": socket.handshake,
        "rooms": rooms,
        "data": socket.data,
    })
}
