//! What runs around a namespace's event handlers, as Node has it on a socket: packet middlewares
//! (`socket.use`), which may refuse an incoming event, and the catch-all listeners of every event
//! received (`socket.onAny`) and sent (`socket.onAnyOutgoing`).

use std::sync::Arc;

use serde_json::Value;

use super::payload::Payload;
use super::socket::Socket;

/// Why a packet middleware refused an incoming event. The event is dropped (its handler and the
/// catch-alls do not run, an ack it asked for is never sent) and the namespace's `on_error` hook
/// gets the error: Node emits it as the server socket's `error` event.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct MiddlewareError {
    /// What went wrong.
    pub message: String,
    /// Details for whoever handles the error.
    pub data: Option<Value>,
}

impl MiddlewareError {
    /// An error with a message only.
    pub fn new(message: impl Into<String>) -> MiddlewareError {
        MiddlewareError {
            message: message.into(),
            data: None,
        }
    }
}

/// Looks at (and may change) an incoming event before its handler, or refuses it.
pub(crate) type PacketMiddleware =
    Arc<dyn Fn(&Socket, &str, &mut Payload) -> Result<(), MiddlewareError> + Send + Sync>;
/// Sees an event, incoming or outgoing: the socket, the event name, its arguments.
pub(crate) type AnyListener = Arc<dyn Fn(&Socket, &str, &Payload) + Send + Sync>;
/// Gets the events packet middlewares refused.
pub(crate) type ErrorHook = Arc<dyn Fn(&Socket, &MiddlewareError) + Send + Sync>;

/// A namespace's packet middlewares and catch-all listeners.
#[derive(Clone, Default)]
pub(crate) struct Interceptors {
    pub(crate) packet_middlewares: Vec<PacketMiddleware>,
    pub(crate) on_any: Vec<AnyListener>,
    pub(crate) on_any_outgoing: Vec<AnyListener>,
    pub(crate) on_error: Option<ErrorHook>,
}

impl Interceptors {
    /// Runs the packet middlewares in order, then the incoming catch-alls. False when a middleware
    /// refused the event (reported to the error hook): its handler must not run.
    pub(crate) fn incoming(&self, socket: &Socket, event: &str, payload: &mut Payload) -> bool {
        for middleware in &self.packet_middlewares {
            if let Err(error) = middleware(socket, event, payload) {
                tracing::debug!(socket = %socket.id(), event, %error, "event refused by a packet middleware");
                if let Some(hook) = &self.on_error {
                    hook(socket, &error);
                }
                return false;
            }
        }
        for listener in &self.on_any {
            listener(socket, event, payload);
        }
        true
    }

    /// Runs the outgoing catch-alls for an event the socket is about to send.
    pub(crate) fn outgoing(&self, socket: &Socket, event: &str, payload: &Payload) {
        for listener in &self.on_any_outgoing {
            listener(socket, event, payload);
        }
    }
}
