//! Events between servers (Node's `io.serverSideEmit` and `io.on(event)`): the handlers a Rust
//! app registers with [`SocketIo::on_server_side`](super::SocketIo::on_server_side), and what an
//! emit with acknowledgements resolves to. The adapter carries them: a single node has no other
//! server to reach; the cluster adapter sends and receives them as Node's SERVER_SIDE_EMIT.

use std::sync::{Arc, RwLock};

// Small map keyed by namespace and event name, looked up per server-side event: a fast hash.
use foldhash::HashMap;
use serde_json::Value;

/// The answer to a server-side event with an acknowledgement: call [`ServerSideAck::send`] once
/// (only the one value crosses to the asking server, as in Socket.IO). Dropping it unanswered
/// leaves the asking server waiting until its timeout, as Node's callback left uncalled does.
pub struct ServerSideAck(Box<dyn FnOnce(Value) + Send>);

impl ServerSideAck {
    /// An acknowledgement that hands its answer to `reply`.
    pub fn new(reply: impl FnOnce(Value) + Send + 'static) -> ServerSideAck {
        ServerSideAck(Box::new(reply))
    }

    /// Answers the asking server.
    pub fn send(self, answer: Value) {
        (self.0)(answer)
    }
}

impl std::fmt::Debug for ServerSideAck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSideAck")
    }
}

/// A server-side event handler: the event's arguments, and the acknowledgement when the sender
/// asked for one.
pub type ServerSideHandler = Arc<dyn Fn(Vec<Value>, Option<ServerSideAck>) + Send + Sync>;

/// Handlers by namespace and event name.
type Handlers = HashMap<(Arc<str>, String), ServerSideHandler>;

/// The server-side event handlers of a server, by namespace and event. Cloned handles share one
/// table, so handlers registered after the server was built are seen by its adapter.
#[derive(Clone, Default)]
pub struct ServerSideEvents {
    handlers: Arc<RwLock<Handlers>>,
}

impl ServerSideEvents {
    /// Handles `event` sent by other servers to namespace `nsp` (replacing an earlier handler).
    pub fn on(&self, nsp: &str, event: &str, handler: ServerSideHandler) {
        let mut handlers = self
            .handlers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        handlers.insert((Arc::from(nsp), event.to_string()), handler);
    }

    /// True when both handles share one table.
    pub fn is_shared_with(&self, other: &ServerSideEvents) -> bool {
        Arc::ptr_eq(&self.handlers, &other.handlers)
    }

    /// Runs the handler of `event` in `nsp` with `args`; false (and `ack` dropped) if there is
    /// none, so the sender gets no answer from this server, as from a Node server without one.
    pub fn dispatch(
        &self,
        nsp: &str,
        event: &str,
        args: Vec<Value>,
        ack: Option<ServerSideAck>,
    ) -> bool {
        let handler = {
            let handlers = self
                .handlers
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            handlers.get(&(Arc::from(nsp), event.to_string())).cloned()
        };
        match handler {
            Some(handler) => {
                handler(args, ack);
                true
            }
            None => {
                tracing::debug!(nsp, event, "server-side event without a handler");
                false
            }
        }
    }
}

impl std::fmt::Debug for ServerSideEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSideEvents")
    }
}

/// Why a server-side emit with acknowledgements did not get every server's answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServerSideAckError {
    /// The event name is reserved.
    #[error("reserved event name")]
    ReservedEvent,
    /// Not every other server answered in time; the answers that came are kept.
    #[error("{} of {expected} servers answered in time", answers.len())]
    Timeout {
        /// The answers that arrived, in arrival order.
        answers: Vec<Value>,
        /// How many servers were expected to answer.
        expected: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Mutex;

    #[test]
    fn dispatches_by_namespace_and_event_and_answers_once() {
        let events = ServerSideEvents::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        events.on(
            "/",
            "ping",
            Arc::new(move |args, ack| {
                log.lock().unwrap().push(args.clone());
                if let Some(ack) = ack {
                    ack.send(json!({"pong": args}));
                }
            }),
        );
        let answer = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&answer);
        let ack = ServerSideAck::new(move |value| *slot.lock().unwrap() = Some(value));
        assert!(events.dispatch("/", "ping", vec![json!(1)], Some(ack)));
        assert_eq!(*answer.lock().unwrap(), Some(json!({"pong": [1]})));
        assert!(!events.dispatch("/other", "ping", vec![], None));
        assert!(!events.dispatch("/", "pong", vec![], None));
        assert_eq!(*seen.lock().unwrap(), vec![vec![json!(1)]]);
    }
}
