//! Cluster-wide queries of this node (rooms, sockets, broadcasts with acks): asking the other
//! nodes and waiting for their answers.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::adapter::wire_rooms;
use super::connection::Outgoing;
use super::requests::to_rooms;
use super::state::Inner;
use super::wire::{RequestType, Response, ResponseMessage, WireObject, WirePacket};
use crate::engineio::Frame;
use crate::hub::room_index::Selection;
use crate::socketio::{AckReport, AckRequest, BroadcastOptions, FetchedSocket, Room, SocketId};
use crate::sync::lock;

impl Inner {
    /// The BROADCAST request for a local broadcast with acks, and its id, as the Node adapter's
    /// `broadcastWithAck` publishes it: MessagePack `{uid, requestId, type, packet, opts}`. The
    /// packet goes without this node's ack id (each node gives it one of its own), and `opts.flags`
    /// carries the timeout, in milliseconds. `None` if the frames are not an event.
    pub(super) fn broadcast_request(
        &self,
        nsp: &Arc<str>,
        frames: &[Frame],
        options: &BroadcastOptions,
        timeout: Duration,
    ) -> Option<(String, Vec<u8>)> {
        let Some(mut packet) = WirePacket::from_frames(frames, self.options.parser) else {
            tracing::debug!(%nsp, "not an event packet: broadcast with acks locally only");
            return None;
        };
        packet.id = None;
        let (rooms, except) = wire_rooms(options);
        let request_id = uuid::Uuid::new_v4().to_string();
        let body = json!({
            "uid": self.uid,
            "requestId": request_id,
            "type": RequestType::Broadcast as u8,
            "packet": packet.to_json(),
            "opts": {
                "rooms": rooms,
                "except": except,
                "flags": { "timeout": u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX) },
            },
        });
        let request = WireObject {
            body,
            attachments: packet.attachments,
        };
        Some((request_id, request.encode()))
    }

    /// Publishes a BROADCAST request, counts the nodes (answered on `nodes`), then relays the
    /// other nodes' client counts and answers to `ack.reports` until the timeout, or until the
    /// collector stops listening.
    pub(super) async fn relay_acks(
        self: Arc<Self>,
        nsp: Arc<str>,
        request_id: String,
        request: Vec<u8>,
        ack: AckRequest,
        nodes: oneshot::Sender<Option<usize>>,
    ) {
        let deadline = Instant::now() + ack.timeout;
        if !self.ensure_subscribed(&nsp).await {
            // Nobody else can be asked: this node's own delivery is the whole broadcast.
            let _ = nodes.send(Some(1));
            return;
        }
        let (answers, mut answered) = mpsc::unbounded_channel();
        lock(&self.pending).insert(request_id.clone(), answers);
        let request_channel = self.channels.request(&nsp);
        self.publish(request_channel.clone(), request);
        let count = self.num_sub(request_channel).await.map(|n| n.max(1));
        if count.is_none() {
            tracing::warn!(%nsp, "cannot count the nodes: collecting acks until the timeout");
        }
        let _ = nodes.send(count);
        loop {
            tokio::select! {
                _ = ack.reports.closed() => break,
                answer = tokio::time::timeout_at(deadline, answered.recv()) => {
                    let Ok(Some(answer)) = answer else { break };
                    if let Some(report) = ack_report(answer) {
                        let _ = ack.reports.send(report);
                    }
                }
            }
        }
        lock(&self.pending).remove(&request_id);
    }

    /// An answer to a query of ours (answers to other nodes' queries are ignored).
    pub(super) fn on_response(&self, message: ResponseMessage) {
        let pending = lock(&self.pending);
        if let Some(waiting) = pending.get(&message.request_id) {
            let _ = waiting.send(message.response);
        }
    }

    /// The ids of the sockets in any of `rooms` on every node.
    pub(super) async fn cluster_sockets(
        self: Arc<Self>,
        nsp: Arc<str>,
        rooms: Vec<Room>,
    ) -> Vec<SocketId> {
        let local = self.mirror().select(&nsp, to_rooms(&rooms));
        let room_names: Vec<String> = rooms.iter().map(|r| r.to_string()).collect();
        let mut ids: BTreeSet<SocketId> = local.into_iter().map(|socket| socket.id).collect();
        let request = json!({ "type": RequestType::Sockets as u8, "rooms": room_names });
        for answer in self.ask_other_nodes(&nsp, request).await {
            if let Response::Sockets(sockets) = answer {
                ids.extend(sockets.iter().map(|id| SocketId::from(id.as_str())));
            }
        }
        ids.into_iter().collect()
    }

    /// The rooms whose names start with `prefix` on every node. Other Agora nodes filter by the
    /// request's `prefix`; Node.js nodes ignore it and send all their rooms, filtered here.
    pub(super) async fn cluster_rooms(self: Arc<Self>, nsp: Arc<str>, prefix: String) -> Vec<Room> {
        let mut rooms: BTreeSet<Room> = self
            .mirror()
            .rooms(&nsp)
            .into_iter()
            .filter(|room| room.starts_with(&prefix))
            .collect();
        let request = json!({ "type": RequestType::AllRooms as u8, "prefix": prefix });
        for answer in self.ask_other_nodes(&nsp, request).await {
            if let Response::Rooms(names) = answer {
                rooms.extend(
                    names
                        .iter()
                        .filter(|room| room.starts_with(&prefix))
                        .map(|room| Room::from(room.as_str())),
                );
            }
        }
        rooms.into_iter().collect()
    }

    /// The sockets matching `options` on every node, with their rooms, handshake and data.
    pub(super) async fn cluster_fetch(
        self: Arc<Self>,
        nsp: Arc<str>,
        options: BroadcastOptions,
    ) -> Vec<FetchedSocket> {
        let mut sockets: Vec<FetchedSocket> = self
            .mirror()
            .select(&nsp, Selection::from(&options))
            .into_iter()
            .map(|selected| {
                FetchedSocket::local(&selected.id, selected.rooms, &selected.socket.details)
            })
            .collect();
        let (rooms, except) = wire_rooms(&options);
        let request = json!({
            "type": RequestType::RemoteFetch as u8,
            "opts": { "rooms": rooms, "except": except },
        });
        for answer in self.ask_other_nodes(&nsp, request).await {
            if let Response::Fetched(remote) = answer {
                sockets.extend(remote);
            }
        }
        sockets
    }

    /// Publishes `request` (its `type` and fields; `uid` and `requestId` are added) to the other
    /// nodes of the namespace and collects their answers until each has answered or the requests
    /// timeout passes. None when Redis is away or this node is alone.
    pub(super) async fn ask_other_nodes(&self, nsp: &Arc<str>, request: Value) -> Vec<Response> {
        let timeout = self.options.requests_timeout;
        self.ask_other_nodes_within(nsp, request, timeout).await.0
    }

    /// [`Inner::ask_other_nodes`] waiting up to `timeout`; also answers how many nodes were
    /// expected to answer.
    pub(super) async fn ask_other_nodes_within(
        &self,
        nsp: &Arc<str>,
        mut request: Value,
        timeout: Duration,
    ) -> (Vec<Response>, usize) {
        if !self.status.is_connected() || !self.ensure_subscribed(nsp).await {
            return (Vec::new(), 0);
        }
        let request_channel = self.channels.request(nsp);
        let Some(nodes) = self.num_sub(request_channel.clone()).await else {
            return (Vec::new(), 0);
        };
        if nodes <= 1 {
            return (Vec::new(), 0);
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let (answers, mut answered) = mpsc::unbounded_channel();
        lock(&self.pending).insert(request_id.clone(), answers);
        request["uid"] = json!(self.uid);
        request["requestId"] = json!(request_id);
        let kind = request["type"].clone();
        self.publish(request_channel, request.to_string().into_bytes());
        let expected = nodes - 1;
        let mut received = Vec::with_capacity(expected);
        let deadline = Instant::now() + timeout;
        while received.len() < expected {
            match tokio::time::timeout_at(deadline, answered.recv()).await {
                Ok(Some(answer)) => received.push(answer),
                _ => break,
            }
        }
        lock(&self.pending).remove(&request_id);
        if received.len() < expected {
            tracing::warn!(%nsp, %kind, received = received.len(), expected, "cluster query timed out");
        }
        (received, expected)
    }

    /// How many nodes listen on `channel`; `None` when Redis cannot tell now.
    pub(super) async fn num_sub(&self, channel: String) -> Option<usize> {
        let (reply, answer) = oneshot::channel();
        self.outgoing
            .try_send(Outgoing::NumSub { channel, reply })
            .ok()?;
        tokio::time::timeout(self.options.requests_timeout, answer)
            .await
            .ok()?
            .ok()?
    }
}

/// A BROADCAST_CLIENT_COUNT or BROADCAST_ACK answer as a report for the collector.
fn ack_report(answer: Response) -> Option<AckReport> {
    match answer {
        Response::ClientCount(clients) => Some(AckReport::Delivered(clients)),
        Response::Ack(payload) => Some(AckReport::Answer(payload)),
        Response::Sockets(_)
        | Response::Rooms(_)
        | Response::Fetched(_)
        | Response::ServerSide(_)
        | Response::Other => None,
    }
}
