//! Engine.IO v4: the transport layer under Socket.IO.
//!
//! It opens sessions over HTTP long-polling or WebSocket, upgrades polling sessions to WebSocket,
//! keeps them alive with heartbeats and hands every message to an [`EngineHandler`]. It knows nothing
//! of the protocol above it.

mod config;
mod connection;
mod error;
mod forwarding;
mod gzip;
mod handler;
mod handshake_headers;
mod outbox;
pub mod packet;
pub mod payload;
mod polling;
mod relay;
mod router;
mod session;
mod sid;
mod sink;
mod socket;
mod traffic;
mod types;
mod websocket;
mod worker_inbox;

use std::sync::Arc;

use actix::Actor;
use actix_web::http::header::HeaderMap;
use actix_web::http::Method;
use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

pub use config::*;
pub use connection::EngineConnection;
pub use error::{EngineError, PacketError};
pub use handler::{EngineHandler, Handshake};
pub use handshake_headers::HandshakeHeaders;
pub use outbox::Outbox;
pub use packet::{Frame, Message};
pub use relay::{forward_outbox, OutboxForwarder, RelayDownlink, RelayUplink, RelayedSocket};
pub use router::{ForwardError, ForwardedRequest, ForwardedResponse, SessionRouter};
#[cfg(test)]
pub(crate) use session::test_support;
pub use session::{EngineSession, Registry};
pub use sid::Sid;
pub use sink::{SinkFull, TransportSink};
pub use socket::{EngineSocket, SendError};
pub use types::{CloseReason, CloseSession, Frames, SendOptions, TransportKind};
pub use websocket::{echo as websocket_echo, LiveSockets, WsUpgrade};
pub use worker_inbox::Fanout;

/// The only protocol revision served.
const PROTOCOL_VERSION: &str = "4";

/// How often a shutdown looks whether every connection has ended.
const DRAIN_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// The session id and transport a request names, once its `EIO` and `transport` are checked.
fn check_query(query: &str) -> Result<(Option<String>, TransportKind), EngineError> {
    let query = web::Query::<EngineQuery>::from_query(query)
        .map_err(|_| EngineError::BadRequest)?
        .into_inner();
    if query.eio.as_deref() != Some(PROTOCOL_VERSION) {
        return Err(EngineError::UnsupportedProtocolVersion);
    }
    let transport = match query.transport.as_deref() {
        Some("polling") => TransportKind::Polling,
        Some("websocket") => TransportKind::WebSocket,
        _ => return Err(EngineError::UnknownTransport),
    };
    Ok((query.sid, transport))
}

/// An Engine.IO server: its settings, its live sessions and the layer it serves.
#[derive(Clone)]
pub struct Engine {
    config: Arc<EngineConfig>,
    registry: Registry,
    handler: Arc<dyn EngineHandler>,
    /// The WebSocket connections running.
    websockets: LiveSockets,
    /// The WebSockets relayed from here to other nodes' sessions.
    relayed: relay::RelayedHere,
    /// Set in a cluster: tags this node's session ids and carries other nodes' requests.
    router: Option<Arc<dyn SessionRouter>>,
}

#[derive(Deserialize)]
struct EngineQuery {
    #[serde(rename = "EIO")]
    eio: Option<String>,
    transport: Option<String>,
    sid: Option<String>,
}

impl Engine {
    /// A server whose sessions are handed to `handler`.
    pub fn new(config: EngineConfig, handler: Arc<dyn EngineHandler>) -> Engine {
        Engine {
            config: Arc::new(config),
            registry: Registry::default(),
            handler,
            websockets: LiveSockets::default(),
            relayed: relay::RelayedHere::default(),
            router: None,
        }
    }

    /// The same server in a cluster: its session ids name this node (the router's tag), and a
    /// polling request of another node's session is carried there through `router`.
    pub fn with_router(mut self, router: Arc<dyn SessionRouter>) -> Engine {
        self.router = Some(router);
        self
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The live sessions.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The WebSocket connections running (a connection outlives its session by the time it
    /// takes to write its last frames).
    pub fn websockets(&self) -> &LiveSockets {
        &self.websockets
    }

    /// Closes every session (at shutdown), and every WebSocket relayed to another node's
    /// session; clients are told the server went away.
    pub fn close_all(&self, reason: CloseReason) {
        for session in self.registry.all() {
            session.do_send(CloseSession(reason));
        }
        self.relayed.close_all(reason);
    }

    /// Closes every session and waits, at most `grace`, until every session and WebSocket
    /// connection has ended (WebSockets run off the HTTP server, which does not wait for them).
    pub async fn drain(&self, reason: CloseReason, grace: std::time::Duration) {
        self.close_all(reason);
        let deadline = std::time::Instant::now() + grace;
        while (!self.registry.is_empty() || self.websockets.count() > 0)
            && std::time::Instant::now() < deadline
        {
            actix_rt::time::sleep(DRAIN_POLL).await;
        }
    }

    /// Serves a WebSocket handshake taken off the HTTP server (see [`WsUpgrade`]), whose path
    /// is this server's and whose origin and client the server in front has checked.
    pub async fn serve_websocket(&self, upgrade: WsUpgrade) {
        websocket::serve(self, upgrade).await;
    }

    /// The actix-web resource serving Engine.IO at `path` (with and without a trailing slash).
    pub fn resource(&self, path: &str) -> actix_web::Resource {
        let trimmed = path.trim_end_matches('/');
        let engine = self.clone();
        web::resource([trimmed.to_string(), format!("{trimmed}/")]).to(
            move |req: HttpRequest, body: Payload| {
                let engine = engine.clone();
                async move { engine.handle(req, body).await }
            },
        )
    }

    /// Serves one Engine.IO request.
    pub async fn handle(
        &self,
        req: HttpRequest,
        body: Payload,
    ) -> Result<HttpResponse, EngineError> {
        let (sid, transport) = check_query(req.query_string())?;
        let method = req.method().clone();
        match (sid, transport) {
            (None, _) if method != Method::GET => Err(EngineError::BadHandshakeMethod),
            (None, TransportKind::Polling) => self.open_polling(&req).await,
            // WebSocket handshakes are taken off the HTTP server before they get here (see
            // `serve_websocket`): this one lacks its `Upgrade` headers.
            (None, TransportKind::WebSocket) => Err(EngineError::BadRequest),
            (Some(sid), TransportKind::Polling) => match self.owner_elsewhere(&sid) {
                Some((router, owner)) => {
                    forwarding::forward(self, router.as_ref(), owner, &sid, &req, body).await
                }
                None => self.serve_polling(&req, &sid, body).await,
            },
            (Some(sid), TransportKind::WebSocket) => {
                self.registry.get(&sid).ok_or(EngineError::UnknownSid)?;
                Err(EngineError::BadRequest)
            }
        }
    }

    /// In a cluster, the router and the owner's tag when `sid` names another node.
    fn owner_elsewhere<'a>(
        &'a self,
        sid: &'a str,
    ) -> Option<(&'a Arc<dyn SessionRouter>, &'a str)> {
        let router = self.router.as_ref()?;
        let owner = Sid::owner_tag(sid)?;
        (owner != router.node_tag()).then_some((router, owner))
    }

    /// Serves a polling GET or POST of a session of this node.
    async fn serve_polling(
        &self,
        req: &HttpRequest,
        sid: &str,
        body: Payload,
    ) -> Result<HttpResponse, EngineError> {
        let method = req.method().clone();
        match method {
            Method::GET => polling::poll(self, sid, gzip::accepts_gzip(req.headers())).await,
            Method::POST => polling::post(self, sid, polling::declared_length(req), body).await,
            _ => Err(EngineError::BadRequest),
        }
    }

    fn handshake(&self, req: &HttpRequest, transport: TransportKind) -> Handshake {
        self.handshake_of(
            req.headers(),
            req.path(),
            req.query_string(),
            req.peer_addr(),
            transport,
        )
    }

    fn handshake_of(
        &self,
        request_headers: &HeaderMap,
        path: &str,
        query: &str,
        peer: Option<std::net::SocketAddr>,
        transport: TransportKind,
    ) -> Handshake {
        Handshake {
            sid: match &self.router {
                Some(router) => Sid::tagged(router.node_tag()),
                None => Sid::random(),
            },
            // Kept for the session's life: the bytes sent, not a header table.
            headers: HandshakeHeaders::from(request_headers),
            path: path.to_string(),
            query: query.to_string(),
            // Served over plain TCP: TLS, if any, ends in front of this server.
            secure: false,
            peer,
            transport,
        }
    }

    /// Starts a polling session and answers with its open packet.
    async fn open_polling(&self, req: &HttpRequest) -> Result<HttpResponse, EngineError> {
        let handshake = self.handshake(req, TransportKind::Polling);
        let session = EngineSession::polling(
            Arc::clone(&self.config),
            self.registry.clone(),
            Arc::clone(&self.handler),
            handshake,
        )
        .start();
        polling::poll_session(&session, gzip::accepts_gzip(req.headers())).await
    }
}
