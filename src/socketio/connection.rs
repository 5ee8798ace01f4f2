//! One client's Socket.IO connection: the per-session state that lives inside the Engine.IO session
//! actor, decoding packets and routing them to the client's sockets, one per namespace.

// Small maps keyed by namespace or event name, looked up for every packet: a fast hash.
use foldhash::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use serde_json::{json, Value};

use super::adapter::Claim;
use super::decoder::Decoder;
use super::joined::Joined;
use super::namespace::Namespace;
use super::packet::Packet;
use super::socket::Socket;
use super::state::ServerInner;
use super::types::DisconnectReason;
use crate::engineio::{CloseReason, EngineConnection, EngineSocket, Handshake, Message};
use crate::sync::lock;

/// The Socket.IO state of one Engine.IO session.
pub(crate) struct Connection {
    server: Arc<ServerInner>,
    engine: EngineSocket,
    handshake: Arc<Handshake>,
    decoder: Decoder,
    sockets: Joined,
    /// Closes the connection if no namespace is joined in time; dropped once one is.
    connect_timer: Option<actix_rt::task::JoinHandle<()>>,
    /// Sockets whose session is being claimed from the cluster; created on the first claim.
    arriving: Option<Arc<Mutex<Arrivals>>>,
}

/// Sockets built by a claim task, waiting to be taken into the connection's map before its next
/// packet: by namespace, `None` while the claim runs.
#[derive(Default)]
struct Arrivals {
    sockets: HashMap<String, Option<Socket>>,
    /// The connection closed: claims that end later build nothing.
    closed: bool,
}

impl Connection {
    pub(crate) fn new(
        server: Arc<ServerInner>,
        engine: EngineSocket,
        handshake: Handshake,
    ) -> Connection {
        let timeout = server.config.connect_timeout;
        let timer_engine = engine.clone();
        let connect_timer = actix_rt::spawn(async move {
            actix_rt::time::sleep(timeout).await;
            tracing::info!(sid = %timer_engine.sid(), "no namespace joined in time; closing");
            timer_engine.close(CloseReason::ServerClose);
        });
        Connection {
            decoder: Decoder::with_parser(server.config.parser, server.config.max_attachments),
            server,
            engine,
            handshake: Arc::new(handshake),
            sockets: Joined::default(),
            connect_timer: Some(connect_timer),
            arriving: None,
        }
    }

    /// Takes the sockets that claims built into the map.
    fn adopt_arrivals(&mut self) {
        let Some(arriving) = &self.arriving else {
            return;
        };
        let mut arrivals = lock(arriving);
        arrivals.sockets.retain(|_, socket| match socket.take() {
            Some(socket) => {
                self.sockets.insert(socket);
                false
            }
            None => true,
        });
    }

    fn on_packet(&mut self, packet: Packet) {
        self.adopt_arrivals();
        // Packets for a namespace the client has not joined are a protocol violation, as they are
        // for the reference server.
        match packet {
            Packet::Connect { nsp, data } => self.on_connect(nsp, data),
            Packet::Disconnect { nsp } => match self.sockets.remove(&nsp) {
                Some(socket) if socket.connected() => {
                    socket.on_disconnected(DisconnectReason::ClientNamespaceDisconnect);
                }
                other => {
                    // A socket still in its middlewares is ended too, never just forgotten:
                    // forgotten, it would register once they finish, with nobody to end it.
                    if let Some(socket) = other {
                        socket.on_disconnected(DisconnectReason::ParseError);
                    }
                    self.protocol_violation("DISCONNECT from a namespace not joined");
                }
            },
            Packet::Event {
                nsp,
                event,
                payload,
                id,
            } => match self.sockets.get(&nsp) {
                Some(socket) if socket.connected() => socket.dispatch(&event, payload, id),
                _ => self.protocol_violation("EVENT for a namespace not joined"),
            },
            Packet::Ack { nsp, id, payload } => match self.sockets.get(&nsp) {
                Some(socket) if socket.connected() => socket.on_ack(id, payload),
                _ => self.protocol_violation("ACK for a namespace not joined"),
            },
            Packet::ConnectError { .. } => {
                self.protocol_violation("CONNECT_ERROR sent by a client");
            }
        }
    }

    fn on_connect(&mut self, nsp: String, auth: Option<serde_json::Value>) {
        let Some(ns) = self.server.namespace_for_connect(&nsp) else {
            tracing::info!(sid = %self.engine.sid(), nsp, "connect to an unknown namespace refused");
            let refusal = Packet::ConnectError {
                nsp,
                data: json!({ "message": "Invalid namespace" }),
            };
            let _ = self
                .engine
                .send(self.server.config.parser.session_frames(&refusal));
            return;
        };
        // One socket per namespace per connection, whatever arrives: replacing one still in its
        // middlewares would leave it to register later with nobody to end it.
        if let Some(arriving) = &self.arriving {
            if lock(arriving).sockets.contains_key(&nsp) {
                tracing::debug!(sid = %self.engine.sid(), nsp, "CONNECT to a namespace being recovered ignored");
                return;
            }
        }
        if let Some(existing) = self.sockets.get(&nsp) {
            if existing.connected() {
                // As the reference server does.
                self.protocol_violation("second CONNECT to a joined namespace");
                return;
            }
            if existing.joining_or_joined() {
                // The first CONNECT is still being answered; socket.io-client sends a second one
                // when `connect()` is called twice, so this is ignored rather than punished.
                tracing::debug!(sid = %self.engine.sid(), nsp, "CONNECT to a namespace being joined ignored");
                return;
            }
        }
        if let Some(timer) = self.connect_timer.take() {
            timer.abort();
        }
        let mut auth = auth.unwrap_or_else(|| json!({}));
        if let Some(kept) = ns.recovery() {
            // A recovering client adds its pid and last offset to the auth payload.
            let fields = auth.as_object_mut();
            let pid = fields
                .as_ref()
                .and_then(|f| f.get("pid")?.as_str().map(str::to_owned));
            let offset = fields
                .as_ref()
                .and_then(|f| f.get("offset")?.as_str().map(str::to_owned));
            if let Some(fields) = fields {
                fields.remove("pid");
                fields.remove("offset");
            }
            if let Some(pid) = pid {
                if let Some(claim) = ns.adapter().claim_session(ns.name(), &pid) {
                    self.claim(ns, nsp, pid, offset, auth, claim);
                    return;
                }
                match kept.take(&pid).filter(|old| old.nsp() == ns.name()) {
                    Some(old) => {
                        let socket = Socket::restored(
                            ns.clone(),
                            self.engine.clone(),
                            Arc::clone(&self.handshake),
                            auth,
                            &old,
                        );
                        self.sockets.insert(socket.clone());
                        ns.restore(socket, pid, offset, None, false);
                        return;
                    }
                    None => {
                        crate::metrics::get()
                            .recoveries
                            .with_label_values(&["expired"])
                            .inc();
                    }
                }
            }
        }
        let socket = Socket::new(
            ns.clone(),
            self.engine.clone(),
            Arc::clone(&self.handshake),
            auth,
        );
        self.sockets.insert(socket.clone());
        ns.connect(socket);
    }

    /// Recovery in a cluster: the session is claimed from the store the nodes share (one node
    /// wins), so it may come from a node that is gone. This node's own kept socket, if it is the
    /// same one, lends its extensions (who it is); otherwise the namespace's middlewares run again.
    /// Without the store, only this node's kept socket can recover.
    fn claim(
        &mut self,
        ns: Arc<Namespace>,
        nsp: String,
        pid: String,
        offset: Option<String>,
        auth: Value,
        claim: BoxFuture<'static, Claim>,
    ) {
        let arriving = Arc::clone(self.arriving.get_or_insert_with(Default::default));
        lock(&arriving).sockets.insert(nsp.clone(), None);
        let (engine, handshake) = (self.engine.clone(), Arc::clone(&self.handshake));
        actix_rt::spawn(async move {
            let claim = claim.await;
            let kept = ns.recovery().and_then(|kept| kept.take(&pid));
            let kept = kept.filter(|old| old.nsp() == ns.name());
            let mut arrivals = lock(&arriving);
            if arrivals.closed {
                return;
            }
            let (socket, restore) = match (claim, kept) {
                (Claim::Claimed(session), kept) if *session.nsp == **ns.name() => {
                    let socket = match kept {
                        Some(old) if *old.id() == session.id => {
                            Socket::restored(ns.clone(), engine, handshake, auth, &old)
                        }
                        _ => Socket::claimed(
                            ns.clone(),
                            engine,
                            handshake,
                            auth,
                            session.id,
                            session.data,
                        ),
                    };
                    let identify = socket.extensions_empty();
                    (socket, Some((Some(session.rooms), identify)))
                }
                (Claim::Unavailable, Some(old)) => {
                    let socket = Socket::restored(ns.clone(), engine, handshake, auth, &old);
                    (socket, Some((None, false)))
                }
                _ => {
                    crate::metrics::get()
                        .recoveries
                        .with_label_values(&["expired"])
                        .inc();
                    (Socket::new(ns.clone(), engine, handshake, auth), None)
                }
            };
            arrivals.sockets.insert(nsp, Some(socket.clone()));
            drop(arrivals);
            match restore {
                Some((rooms, identify)) => ns.restore(socket, pid, offset, rooms, identify),
                None => ns.connect(socket),
            }
        });
    }

    fn protocol_violation(&mut self, what: &str) {
        tracing::warn!(sid = %self.engine.sid(), error = what, "Socket.IO protocol error; closing the connection");
        for socket in self.sockets.drain() {
            socket.on_disconnected(DisconnectReason::ParseError);
        }
        self.engine.close(CloseReason::TransportError);
    }
}

impl EngineConnection for Connection {
    fn on_message(&mut self, message: Message) {
        let decoded = match message {
            Message::Text(text) => self.decoder.text(&text),
            Message::Binary(bytes) => self.decoder.binary(bytes),
        };
        match decoded {
            Ok(Some(packet)) => self.on_packet(packet),
            Ok(None) => {}
            Err(error) => self.protocol_violation(&error.to_string()),
        }
    }

    fn on_close(&mut self, reason: CloseReason) {
        if let Some(timer) = self.connect_timer.take() {
            timer.abort();
        }
        if let Some(arriving) = &self.arriving {
            let mut arrivals = lock(arriving);
            arrivals.closed = true;
            for (_, socket) in arrivals.sockets.drain() {
                if let Some(socket) = socket {
                    self.sockets.insert(socket);
                }
            }
        }
        for socket in self.sockets.drain() {
            socket.on_disconnected(DisconnectReason::Transport(reason));
        }
    }
}

#[cfg(test)]
mod tests;
