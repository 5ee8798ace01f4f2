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
pub(crate) type PacketMiddleware<S> =
    Arc<dyn Fn(&S, &str, &mut Payload) -> Result<(), MiddlewareError> + Send + Sync>;
/// Sees an event, incoming or outgoing: the socket, the event name, its arguments.
pub(crate) type AnyListener<S> = Arc<dyn Fn(&S, &str, &Payload) + Send + Sync>;
/// Gets the events packet middlewares refused.
pub(crate) type ErrorHook<S> = Arc<dyn Fn(&S, &MiddlewareError) + Send + Sync>;

/// A namespace's packet middlewares and catch-all listeners, for sockets of type `S`.
pub(crate) struct Interceptors<S = Socket> {
    pub(crate) packet_middlewares: Vec<PacketMiddleware<S>>,
    pub(crate) on_any: Vec<AnyListener<S>>,
    pub(crate) on_any_outgoing: Vec<AnyListener<S>>,
    pub(crate) on_error: Option<ErrorHook<S>>,
}

// By hand: derived, they would ask `S` to be `Default` and `Clone` too.
impl<S> Default for Interceptors<S> {
    fn default() -> Self {
        Interceptors {
            packet_middlewares: Vec::new(),
            on_any: Vec::new(),
            on_any_outgoing: Vec::new(),
            on_error: None,
        }
    }
}

impl<S> Clone for Interceptors<S> {
    fn clone(&self) -> Self {
        Interceptors {
            packet_middlewares: self.packet_middlewares.clone(),
            on_any: self.on_any.clone(),
            on_any_outgoing: self.on_any_outgoing.clone(),
            on_error: self.on_error.clone(),
        }
    }
}

impl<S> Interceptors<S> {
    /// Runs the packet middlewares in order, then the incoming catch-alls. A middleware's error
    /// goes to the error hook and comes back: the event's handler must not run.
    pub(crate) fn incoming(
        &self,
        socket: &S,
        event: &str,
        payload: &mut Payload,
    ) -> Result<(), MiddlewareError> {
        for middleware in &self.packet_middlewares {
            if let Err(error) = middleware(socket, event, payload) {
                if let Some(hook) = &self.on_error {
                    hook(socket, &error);
                }
                return Err(error);
            }
        }
        for listener in &self.on_any {
            listener(socket, event, payload);
        }
        Ok(())
    }

    /// Runs the outgoing catch-alls for an event the socket is about to send.
    pub(crate) fn outgoing(&self, socket: &S, event: &str, payload: &Payload) {
        for listener in &self.on_any_outgoing {
            listener(socket, event, payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;

    /// A socket that is only a log of what the interceptors did.
    type Log = Mutex<Vec<String>>;

    fn note(log: &Log, line: String) {
        crate::sync::lock(log).push(line);
    }

    fn interceptors() -> Interceptors<Log> {
        let mut interceptors = Interceptors::<Log>::default();
        interceptors
            .packet_middlewares
            .push(Arc::new(|log, event, payload| {
                note(log, format!("use {event}"));
                if event == "bad" {
                    return Err(MiddlewareError::new("no"));
                }
                payload.args_mut().push(json!("added"));
                Ok(())
            }));
        interceptors
            .packet_middlewares
            .push(Arc::new(|log, event, _| {
                note(log, format!("use2 {event}"));
                Ok(())
            }));
        interceptors.on_any.push(Arc::new(|log, event, payload| {
            note(log, format!("any {event} {:?}", payload.args()));
        }));
        interceptors.on_any_outgoing.push(Arc::new(|log, event, _| {
            note(log, format!("out {event}"));
        }));
        interceptors.on_error = Some(Arc::new(|log, error| {
            note(log, format!("error {error}"));
        }));
        interceptors
    }

    #[test]
    fn middlewares_run_in_order_may_change_the_arguments_then_catch_alls_see_them() {
        let log = Log::default();
        let mut payload = Payload::new(vec![json!(1)]);
        assert_eq!(interceptors().incoming(&log, "ok", &mut payload), Ok(()));
        assert_eq!(payload.args(), vec![json!(1), json!("added")]);
        interceptors().outgoing(&log, "reply", &payload);
        assert_eq!(
            *crate::sync::lock(&log),
            [
                "use ok",
                "use2 ok",
                r#"any ok [Number(1), String("added")]"#,
                "out reply"
            ]
        );
    }

    #[test]
    fn a_refusal_stops_the_chain_and_reaches_the_error_hook() {
        let log = Log::default();
        let outcome = interceptors().incoming(&log, "bad", &mut Payload::empty());
        assert_eq!(outcome, Err(MiddlewareError::new("no")));
        assert_eq!(*crate::sync::lock(&log), ["use bad", "error no"]);
    }
}
