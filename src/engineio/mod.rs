//! Engine.IO v4: the transport layer under Socket.IO.
//!
//! It opens sessions over HTTP long-polling or WebSocket, upgrades polling sessions to WebSocket,
//! keeps them alive with heartbeats and hands every message to an [`EngineHandler`]. It knows nothing
//! of the protocol above it.

mod config;
mod connection;
mod error;
mod gzip;
mod handler;
pub mod packet;
pub mod payload;
mod polling;
mod queue;
mod session;
mod sid;
mod sink;
mod socket;
mod traffic;
mod types;
mod websocket;

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
pub use packet::{Frame, Message};
#[cfg(test)]
pub(crate) use session::test_support;
pub use session::{EngineSession, Registry};
pub use sid::Sid;
pub use socket::{EngineSocket, SendError};
pub use types::{CloseReason, CloseSession, Frames, SendOptions, TransportKind};
pub use websocket::echo as websocket_echo;

/// The only protocol revision served.
const PROTOCOL_VERSION: &str = "4";

/// An Engine.IO server: its settings, its live sessions and the layer it serves.
#[derive(Clone)]
pub struct Engine {
    config: Arc<EngineConfig>,
    registry: Registry,
    handler: Arc<dyn EngineHandler>,
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
        }
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The live sessions.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Closes every session (at shutdown); clients are told the server went away.
    pub fn close_all(&self, reason: CloseReason) {
        for session in self.registry.all() {
            session.do_send(CloseSession(reason));
        }
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
        let query = web::Query::<EngineQuery>::from_query(req.query_string())
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
        let method = req.method().clone();
        match (query.sid, transport) {
            (None, _) if method != Method::GET => Err(EngineError::BadHandshakeMethod),
            (None, TransportKind::Polling) => self.open_polling(&req).await,
            (None, TransportKind::WebSocket) => {
                let handshake = self.handshake(&req, TransportKind::WebSocket);
                websocket::open(self, handshake, &req, body)
            }
            (Some(sid), TransportKind::Polling) => match method {
                Method::GET => polling::poll(self, &sid, gzip::accepts_gzip(req.headers())).await,
                Method::POST => {
                    let declared_length = req
                        .headers()
                        .get(actix_web::http::header::CONTENT_LENGTH)
                        .and_then(|value| value.to_str().ok()?.parse().ok());
                    polling::post(self, &sid, declared_length, body).await
                }
                _ => Err(EngineError::BadRequest),
            },
            (Some(sid), TransportKind::WebSocket) => {
                let session = self.registry.get(&sid).ok_or(EngineError::UnknownSid)?;
                let upgradable = session
                    .send(session::CheckUpgrade)
                    .await
                    .map_err(|_| EngineError::UnknownSid)?;
                if upgradable {
                    websocket::upgrade(self, session, &req, body)
                } else {
                    websocket::refuse(self, &req, body)
                }
            }
        }
    }

    fn handshake(&self, req: &HttpRequest, transport: TransportKind) -> Handshake {
        // A clone would keep actix's request-sized table (kilobytes) for the session's whole
        // life; a map sized to the headers actually sent is a fraction of it.
        let mut headers = HeaderMap::with_capacity(req.headers().len());
        for (name, value) in req.headers() {
            headers.append(name.clone(), value.clone());
        }
        Handshake {
            sid: Sid::random(),
            headers,
            path: req.path().to_string(),
            query: req.query_string().to_string(),
            secure: req.app_config().secure(),
            peer: req.peer_addr(),
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
