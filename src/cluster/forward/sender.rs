//! This node's side of a forwarded request: publish it to the owner, wait for the answer, and
//! cancel it on the owner when the client goes away first.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::state::Shared;
use super::wire::{self, Header};
use crate::engineio::{ForwardError, ForwardedRequest, ForwardedResponse};
use crate::sync::lock;

/// Carries `request` to the node tagged `owner` and waits for its answer.
pub(super) async fn forward(
    shared: Arc<Shared>,
    owner: String,
    request: ForwardedRequest,
) -> Result<ForwardedResponse, ForwardError> {
    let _permit = Arc::clone(&shared.in_flight)
        .try_acquire_owned()
        .map_err(|_| ForwardError::Busy)?;
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let (reply, answer) = oneshot::channel();
    lock(&shared.pending).insert(id, reply);
    let mut waiting = Waiting {
        shared: Arc::clone(&shared),
        owner,
        id,
        state: Progress::Unsent,
    };
    let header = Header::Request {
        id,
        from: shared.tag.clone(),
        method: request.method.to_string(),
        query: request.query,
        headers: wire::header_pairs(&request.headers),
    };
    let receivers = shared
        .publish(&waiting.owner, &header, &request.body)
        .await?;
    if receivers == 0 {
        return Err(ForwardError::NoOwner);
    }
    waiting.state = Progress::Sent;
    let answer = tokio::time::timeout(shared.options.timeout, answer).await;
    waiting.state = Progress::Settled;
    match answer {
        Ok(Ok(response)) => Ok(response),
        // Ok(Err): the reply was dropped unanswered; only this request's guard removes it, so
        // this does not happen while it waits, and is treated as no answer.
        Ok(Err(_)) | Err(_) => {
            tracing::warn!(owner = %waiting.owner, id, "the session's node did not answer in time");
            Err(ForwardError::Unreachable)
        }
    }
}

/// Where a forwarded request stands, for its cleanup.
enum Progress {
    /// Not published (or nobody listened).
    Unsent,
    /// Published; the owner may be serving it.
    Sent,
    /// Answered, or given up after the timeout.
    Settled,
}

/// Forgets a request when it ends; one dropped while the owner still serves it (its client went
/// away) is cancelled there, so a cut GET ends the session's poll at once, as locally.
struct Waiting {
    shared: Arc<Shared>,
    owner: String,
    id: u64,
    state: Progress,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        lock(&self.shared.pending).remove(&self.id);
        if !matches!(self.state, Progress::Sent) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        let owner = std::mem::take(&mut self.owner);
        let header = Header::Cancel {
            id: self.id,
            from: shared.tag.clone(),
        };
        runtime.spawn(async move {
            let _ = shared.publish(&owner, &header, &[]).await;
        });
    }
}

/// Hands the owner's answer to request `id` to whoever waits for it.
pub(super) fn answered(shared: &Shared, id: u64, response: ForwardedResponse) {
    if let Some(reply) = lock(&shared.pending).remove(&id) {
        let _ = reply.send(response);
    }
}
