//! [`Outbox`]: one direction of a relayed WebSocket, publishing its frames to the other node in
//! order and bounded.
//!
//! Redis delivers one connection's messages to a subscriber in the order it got them, but two
//! PUBLISHes in flight at once may reach it in either order. So each relay direction has one task
//! that publishes one message at a time: all the frames queued meanwhile go in the next message,
//! so a busy relay costs one PUBLISH per batch, not per frame.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::state::Shared;
use super::wire::{self, Header};
use crate::engineio::{CloseReason, Frame, SinkFull};
use crate::sync::lock;

/// What a relay direction carries, in order.
enum Item {
    Frames(Vec<Frame>),
    /// The end of the relay (the last item).
    Close(CloseReason),
}

/// How a relay direction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    /// Its close was published.
    Closed,
    /// The other node is gone (nobody listens on its channel) or Redis failed: the relay is
    /// broken, and this node's side must be told.
    Lost,
    /// Its sending side was dropped without a close.
    Dropped,
}

/// The header of a relay message, given its close reason if it ends the relay.
pub(super) type MakeHeader = Box<dyn Fn(Option<String>) -> Header + Send>;

/// Told once when the direction ends.
pub(super) type OnEnd = Box<dyn FnOnce(Ended) + Send>;

/// What waits to be published: frames and bytes, bounded.
#[derive(Default)]
struct Load {
    frames: usize,
    bytes: usize,
}

impl Load {
    /// Counts `frames` frames of `bytes` bytes in, unless that passes a bound while others wait
    /// (a lone batch larger than the bounds still goes to an empty outbox).
    fn admit(&mut self, frames: usize, bytes: usize, max: (usize, usize)) -> Result<(), SinkFull> {
        let (max_frames, max_bytes) = max;
        let waiting = self.frames > 0;
        if waiting && (self.frames + frames > max_frames || self.bytes + bytes > max_bytes) {
            return Err(SinkFull);
        }
        self.frames += frames;
        self.bytes += bytes;
        Ok(())
    }

    /// Counts published frames out.
    fn taken(&mut self, frames: usize, bytes: usize) {
        self.frames = self.frames.saturating_sub(frames);
        self.bytes = self.bytes.saturating_sub(bytes);
    }
}

/// One direction of a relay: frames handed here are published to the other node in order.
pub(super) struct Outbox {
    queue: mpsc::UnboundedSender<Item>,
    load: Arc<Mutex<Load>>,
    max_frames: usize,
    max_bytes: usize,
}

impl Outbox {
    /// Starts the publishing task (on this thread) for messages to the node tagged `to`:
    /// `first`, if any, then the frames and close handed over, each batch under `header`.
    pub(super) fn start(
        shared: Arc<Shared>,
        to: String,
        first: Option<Header>,
        header: MakeHeader,
        on_end: OnEnd,
    ) -> Outbox {
        let (queue, items) = mpsc::unbounded_channel();
        let load = Arc::new(Mutex::new(Load::default()));
        let outbox = Outbox {
            queue,
            load: Arc::clone(&load),
            max_frames: shared.options.relay_max_frames,
            max_bytes: shared.options.relay_max_bytes,
        };
        actix_rt::spawn(async move {
            let ended = publish_all(&shared, &to, first, header, items, &load).await;
            on_end(ended);
        });
        outbox
    }

    /// Queues frames; past the bound (a lone batch larger than it still goes to an empty outbox)
    /// nothing is queued and the caller closes the relay as a slow consumer.
    pub(super) fn push(&self, frames: Vec<Frame>) -> Result<(), SinkFull> {
        let bytes: usize = frames.iter().map(Frame::len).sum();
        lock(&self.load).admit(frames.len(), bytes, (self.max_frames, self.max_bytes))?;
        // A send fails only once the task ended (the relay is lost, and its end reported).
        let _ = self.queue.send(Item::Frames(frames));
        Ok(())
    }

    /// Publishes the relay's end after the frames queued before.
    pub(super) fn close(&self, reason: CloseReason) {
        let _ = self.queue.send(Item::Close(reason));
    }
}

/// Publishes the items in order until the close or a failure; answers how it ended.
async fn publish_all(
    shared: &Shared,
    to: &str,
    first: Option<Header>,
    header: MakeHeader,
    mut items: mpsc::UnboundedReceiver<Item>,
    load: &Mutex<Load>,
) -> Ended {
    if let Some(first) = first {
        if !matches!(shared.publish(to, &first, &[]).await, Ok(receivers) if receivers > 0) {
            return Ended::Lost;
        }
    }
    while let Some(item) = items.recv().await {
        let mut frames = Vec::new();
        let mut close = None;
        let mut next = Some(item);
        while let Some(item) = next {
            match item {
                Item::Frames(batch) => frames.extend(batch),
                Item::Close(reason) => {
                    close = Some(reason);
                    break;
                }
            }
            next = items.try_recv().ok();
        }
        let sent = shared
            .publish(
                to,
                &header(close.map(|reason| reason.as_str().to_string())),
                &wire::encode_frames(&frames),
            )
            .await;
        lock(load).taken(frames.len(), frames.iter().map(Frame::len).sum());
        if !matches!(sent, Ok(receivers) if receivers > 0) {
            return Ended::Lost;
        }
        if close.is_some() {
            return Ended::Closed;
        }
    }
    Ended::Dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_is_bounded_in_frames_and_bytes_but_a_lone_batch_passes() {
        let max = (3, 100);
        let mut load = Load::default();
        assert!(
            load.admit(1, 500, max).is_ok(),
            "alone, larger than the bound"
        );
        assert_eq!(load.admit(1, 1, max), Err(SinkFull), "behind it, nothing");
        load.taken(1, 500);
        assert!(load.admit(2, 60, max).is_ok());
        assert_eq!(load.admit(1, 41, max), Err(SinkFull), "past the bytes");
        assert!(load.admit(1, 40, max).is_ok());
        assert_eq!(load.admit(1, 0, max), Err(SinkFull), "past the frames");
        load.taken(3, 100);
        assert_eq!((load.frames, load.bytes), (0, 0));
    }
}
