//! The owner's side: serving requests other nodes forwarded for this node's sessions, through
//! the Engine's normal polling handler, and stopping one when its client went away.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::http::Method;
use actix_web::web::Bytes;
use actix_web::ResponseError;

use super::state::Shared;
use super::wire::{self, Header};
use crate::engineio::{Engine, EngineError, ForwardedRequest};
use crate::sync::lock;

/// A request from another node, read off the wire.
pub(super) struct Incoming {
    pub(super) id: u64,
    pub(super) from: String,
    pub(super) method: String,
    pub(super) query: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Bytes,
}

/// Serves `request` in a task of its own and publishes the answer to its node; more than
/// [`ForwardOptions::max_served`](super::ForwardOptions::max_served) at once are answered 503.
pub(super) fn serve(shared: &Arc<Shared>, engine: &Engine, request: Incoming) {
    let Incoming {
        id,
        from,
        method,
        query,
        headers,
        body,
    } = request;
    let key = (from, id);
    let mut served = lock(&shared.served);
    if served.len() >= shared.options.max_served {
        drop(served);
        tracing::warn!(from = %key.0, "too many forwarded requests served at once; refusing one");
        let shared = Arc::clone(shared);
        actix_rt::spawn(async move { refuse_busy(&shared, &key.0, id).await });
        return;
    }
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        tracing::debug!(from = %key.0, "ignoring a forwarded request with a bad method");
        return;
    };
    let request = ForwardedRequest {
        method,
        query,
        headers: wire::header_map(&headers),
        body,
    };
    let task_shared = Arc::clone(shared);
    let task_key = key.clone();
    let engine = engine.clone();
    // A local task: it cannot run before its abort handle is recorded below.
    let task = actix_rt::spawn(async move {
        let response = engine.serve_forwarded(request).await;
        lock(&task_shared.served).remove(&task_key);
        let header = Header::Response {
            id,
            status: response.status.as_u16(),
            headers: wire::header_pairs(&response.headers),
        };
        let _ = task_shared
            .publish(&task_key.0, &header, &response.body)
            .await;
    });
    served.insert(key, task.abort_handle());
}

/// The requesting node's client went away: stop serving its request (a waiting GET then ends
/// as a cut GET does locally).
pub(super) fn cancel(shared: &Shared, from: String, id: u64) {
    if let Some(task) = lock(&shared.served).remove(&(from, id)) {
        task.abort();
    }
}

/// Answers request `id` of node `from` with 503: this node serves too many forwarded requests.
async fn refuse_busy(shared: &Shared, from: &str, id: u64) {
    let response = EngineError::ForwardBusy.error_response();
    let header = Header::Response {
        id,
        status: response.status().as_u16(),
        headers: wire::header_pairs(response.headers()),
    };
    // An error answer's body is JSON built in full: it is always at hand.
    let body = response.into_body().try_into_bytes().unwrap_or_default();
    let _ = shared.publish(from, &header, &body).await;
}
