//! [`SessionRouter`]: the seam through which a node serves requests of sessions it does not own.
//!
//! In a cluster without sticky sessions a polling request may land on any node. A session id
//! names the node that owns the session (its tag, see [`Sid::tagged`](super::Sid::tagged)); a
//! request whose session lives elsewhere is handed to the router, which carries it to the owner
//! and brings its answer back. Engine.IO knows nothing of how (the cluster layer uses Redis).

use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, StatusCode};
use actix_web::web::Bytes;
use futures_util::future::BoxFuture;

use super::relay::{RelayDownlink, RelayUplink};

/// A polling request of a session owned by another node, as the owner will serve it.
#[derive(Debug, Clone)]
pub struct ForwardedRequest {
    /// GET (drain the queue) or POST (deliver packets).
    pub method: Method,
    /// The raw query string (`EIO=4&transport=polling&sid=…`).
    pub query: String,
    /// The headers that change the answer (`Accept-Encoding`, `Content-Type`).
    pub headers: HeaderMap,
    /// The body, already bounded by `maxPayload`.
    pub body: Bytes,
}

/// The owner's answer to a [`ForwardedRequest`].
#[derive(Debug, Clone)]
pub struct ForwardedResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers (`Content-Type`, `Content-Encoding`, …).
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// Why a request could not be carried to its session's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ForwardError {
    /// No live node carries this tag (it died, or the id is forged): the session is unknown.
    #[error("no live node owns this session")]
    NoOwner,
    /// Too many requests of this node are already waiting for other nodes (or, for a relay, it
    /// relays as many WebSockets as it may).
    #[error("too many forwarded requests")]
    Busy,
    /// The owner did not answer in time, or the link between the nodes is down.
    #[error("the session's node did not answer")]
    Unreachable,
}

/// Carries requests of sessions owned by other nodes to them.
pub trait SessionRouter: Send + Sync + 'static {
    /// The tag stamped on the ids of this node's sessions.
    fn node_tag(&self) -> &str;
    /// Serves `request` on the node tagged `owner`. Dropping the future before it resolves (the
    /// client went away) cancels the request on the owner.
    fn forward(
        &self,
        owner: &str,
        request: ForwardedRequest,
    ) -> BoxFuture<'static, Result<ForwardedResponse, ForwardError>>;
    /// Relays a WebSocket upgrade of session `sid` (owned by the node tagged `owner`) that
    /// landed here: the owner's frames are written to `client`, and the client's go to the
    /// answered uplink. An owner that turns out dead or without the session closes `client`.
    fn relay(
        &self,
        owner: &str,
        sid: &str,
        client: RelayDownlink,
    ) -> Result<Box<dyn RelayUplink>, ForwardError>;
}
