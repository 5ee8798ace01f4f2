//! Server-side events across the cluster (Node's SERVER_SIDE_EMIT): this node's handlers run for
//! other nodes' events (Node.js servers and the Redis emitter included) and answer their
//! acknowledgements; this node's own events go out the same way and collect the answers.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::state::Inner;
use super::wire::{RequestType, Response};
use crate::socketio::{ServerSideAck, ServerSideAckError};

impl Inner {
    /// Another node's server-side event: runs this server's handler, which answers on the
    /// namespace's response channel when the sender asked (`request_id`), as Node's does.
    pub(super) fn on_server_side(
        self: &Arc<Self>,
        nsp: Arc<str>,
        event: String,
        args: Vec<Value>,
        request_id: Option<String>,
    ) {
        let Some(events) = self.server_side.get() else {
            tracing::debug!(%nsp, event, "server-side event before the server was built: dropped");
            return;
        };
        // Weak: an answer kept by the app must not keep the adapter alive.
        let inner = Arc::downgrade(self);
        let answer_nsp = Arc::clone(&nsp);
        let ack = request_id.map(|request_id| {
            ServerSideAck::new(move |answer| {
                if let Some(inner) = inner.upgrade() {
                    inner.respond(
                        &answer_nsp,
                        json!({
                            "type": RequestType::ServerSideEmit as u8,
                            "requestId": request_id,
                            "data": answer,
                        }),
                    );
                }
            })
        });
        events.dispatch(&nsp, &event, args, ack);
    }

    /// Publishes a server-side event (`args`: the event name first) for the other nodes.
    pub(super) fn publish_server_side(&self, nsp: &Arc<str>, args: Vec<Value>) {
        let request = json!({
            "uid": self.uid,
            "type": RequestType::ServerSideEmit as u8,
            "data": args,
        });
        self.publish(self.channels.request(nsp), request.to_string().into_bytes());
    }

    /// Publishes a server-side event asking every other node for an answer, and collects them
    /// until each answered or `timeout` passed.
    pub(super) async fn ask_server_side(
        self: Arc<Self>,
        nsp: Arc<str>,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<Vec<Value>, ServerSideAckError> {
        let request = json!({ "type": RequestType::ServerSideEmit as u8, "data": args });
        let (answers, expected) = self.ask_other_nodes_within(&nsp, request, timeout).await;
        let answers: Vec<Value> = answers
            .into_iter()
            .filter_map(|answer| match answer {
                Response::ServerSide(value) => Some(value),
                _ => None,
            })
            .collect();
        if answers.len() < expected {
            return Err(ServerSideAckError::Timeout { answers, expected });
        }
        Ok(answers)
    }
}
