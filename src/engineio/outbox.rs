//! [`Outbox`]: the one path every frame of a session takes to its client.
//!
//! The senders (the session's [`EngineSocket`](super::EngineSocket), the hub, the session actor's
//! own pings) push frames into the session's outbox; the transport's writer takes everything that
//! waits at once: the WebSocket's task at the end of each turn (encoding the frames into one
//! write), a polling session for its waiting GET. The outbox is bounded in frames and in bytes, so
//! a client that stops reading is noticed either way, and it wakes its writer only when it goes
//! from empty to non-empty while the writer is parked: frames sent while the writer runs (a reply
//! to the message it is handling) or while earlier ones still wait cost no wake-up.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::{RawWakerVTable, Waker};

use super::packet::Frame;
use super::traffic::count_outbound;
use super::types::{Frames, SendOptions, TransportKind};

/// Frames waiting for the client, and whether they may be compressed (`SendOptions::compress`).
#[derive(Debug)]
pub(super) struct Queued {
    pub(super) frames: Frames,
    pub(super) compress: bool,
}

/// Why frames were not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum PushError {
    /// The session has ended.
    #[error("the session is closed")]
    Closed,
    /// One of the bounds would be passed: the client fell behind.
    #[error("the outgoing queue is full")]
    Full,
}

/// A session's outgoing frames, shared by its senders and its transport's writer.
pub struct Outbox {
    state: Mutex<State>,
    /// Frames waiting: changed only under the lock, read without it by a writer that parks.
    queued: AtomicUsize,
    /// The writer waits for frames (its waker is in `state`). Cleared without the lock when the
    /// writer starts a turn, so that what it sends itself meanwhile wakes nobody.
    parked: AtomicBool,
    /// The waker in `state` (its data and vtable; null when none), so that a writer parking
    /// again with the same waker needs no lock.
    parked_data: AtomicPtr<()>,
    parked_vtable: AtomicPtr<RawWakerVTable>,
    max_frames: usize,
    max_bytes: usize,
}

struct State {
    waiting: Batch,
    bytes: usize,
    /// Who takes the frames: a polling session's GET, or a WebSocket.
    writer: TransportKind,
    /// The parked writer's waker.
    waker: Option<Waker>,
    /// The session ended: nothing more is queued.
    closed: bool,
}

impl Outbox {
    /// An empty outbox for a session starting on `writer`, holding at most `max_frames` frames
    /// and `max_bytes` bytes (a lone frame larger than that still goes into an empty outbox, so
    /// that a low byte bound never makes a big message undeliverable).
    pub(super) fn new(max_frames: usize, max_bytes: usize, writer: TransportKind) -> Outbox {
        Outbox {
            state: Mutex::new(State {
                waiting: Batch::default(),
                bytes: 0,
                writer,
                waker: None,
                closed: false,
            }),
            queued: AtomicUsize::new(0),
            parked: AtomicBool::new(false),
            parked_data: AtomicPtr::new(std::ptr::null_mut()),
            parked_vtable: AtomicPtr::new(std::ptr::null_mut()),
            max_frames,
            max_bytes,
        }
    }

    /// Queues frames behind the ones waiting, and wakes a parked writer. A volatile message is
    /// dropped (answering `Ok`) unless the transport can take it now: on a WebSocket, nothing
    /// waits before it; on polling, a GET waits for it. It never counts against the client.
    pub(super) fn push(&self, frames: Frames, options: SendOptions) -> Result<(), PushError> {
        let slice = frames.as_slice();
        let count = slice.len();
        let bytes: usize = slice.iter().map(Frame::len).sum();
        {
            let mut state = crate::sync::lock(&self.state);
            if state.closed {
                return Err(PushError::Closed);
            }
            let queued = self.queued.load(Ordering::Relaxed);
            if options.volatile && !self.writable(state.writer, queued) {
                return Ok(());
            }
            let too_many = queued + count > self.max_frames;
            let too_big = queued > 0 && state.bytes + bytes > self.max_bytes;
            if too_many || too_big {
                return if options.volatile {
                    Ok(())
                } else {
                    Err(PushError::Full)
                };
            }
            // Counted before the flag is read (see `park_again`).
            self.queued.store(queued + count, Ordering::SeqCst);
            state.bytes += bytes;
            state.waiting.push(Queued {
                frames,
                compress: options.compress,
            });
            if self.parked.load(Ordering::SeqCst) && self.parked.swap(false, Ordering::SeqCst) {
                if let Some(waker) = &state.waker {
                    waker.wake_by_ref();
                }
            }
        }
        count_outbound(count, bytes);
        Ok(())
    }

    /// Whether the transport can take a frame now (see [`Outbox::push`]), `queued` waiting.
    fn writable(&self, writer: TransportKind, queued: usize) -> bool {
        match writer {
            TransportKind::WebSocket => queued == 0,
            TransportKind::Polling => self.parked.load(Ordering::SeqCst),
        }
    }

    /// Takes everything that waits. With `park`, an empty outbox keeps that waker and wakes it
    /// when frames arrive (the check and the parking under one lock, so no frame slips between).
    pub(super) fn take(&self, park: Option<&Waker>) -> Batch {
        if park.is_some_and(|waker| self.park_again(waker)) {
            return Batch::default();
        }
        let mut state = crate::sync::lock(&self.state);
        if self.queued.load(Ordering::Relaxed) == 0 {
            if let Some(waker) = park {
                if !state.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    state.waker = Some(waker.clone());
                    self.parked_data
                        .store(waker.data().cast_mut(), Ordering::Relaxed);
                    let vtable: *const RawWakerVTable = waker.vtable();
                    self.parked_vtable
                        .store(vtable.cast_mut(), Ordering::Relaxed);
                }
                self.parked.store(true, Ordering::SeqCst);
            }
            return Batch::default();
        }
        self.queued.store(0, Ordering::Relaxed);
        state.bytes = 0;
        std::mem::take(&mut state.waiting)
    }

    /// Parks `waker` without the lock when nothing waits and the outbox already holds that
    /// waker (a writer between two turns). The flag is set before the count is read, and a sender
    /// stores the count before it reads the flag (both sequentially consistent), so one of the two
    /// sees the other: no frame is left without a wake.
    fn park_again(&self, waker: &Waker) -> bool {
        let vtable: *const RawWakerVTable = waker.vtable();
        let held = std::ptr::eq(self.parked_data.load(Ordering::Relaxed), waker.data())
            && std::ptr::eq(self.parked_vtable.load(Ordering::Relaxed), vtable);
        if !held || self.queued.load(Ordering::SeqCst) != 0 {
            return false;
        }
        self.parked.store(true, Ordering::SeqCst);
        if self.queued.load(Ordering::SeqCst) == 0 {
            return true;
        }
        // Frames arrived meanwhile: take them under the lock.
        self.parked.store(false, Ordering::SeqCst);
        false
    }

    /// The writer runs: frames sent from now on are taken at the end of its turn without a wake.
    pub(super) fn unpark(&self) {
        self.parked.store(false, Ordering::Relaxed);
    }

    /// True when nothing waits.
    pub(super) fn is_empty(&self) -> bool {
        self.queued.load(Ordering::Relaxed) == 0
    }

    /// The session moved to a WebSocket: its transport's writer takes the frames from now on
    /// (once it is attached), the ones waiting first.
    pub(super) fn upgrade(&self) {
        let mut state = crate::sync::lock(&self.state);
        state.writer = TransportKind::WebSocket;
        state.waker = None;
        self.parked_data
            .store(std::ptr::null_mut(), Ordering::Relaxed);
        self.parked_vtable
            .store(std::ptr::null_mut(), Ordering::Relaxed);
        self.parked.store(false, Ordering::Relaxed);
    }

    /// The session ended: later frames are refused as [`PushError::Closed`]; the ones waiting stay
    /// for the writer.
    pub(super) fn close(&self) {
        crate::sync::lock(&self.state).closed = true;
    }

    /// Puts frames in front of the waiting ones, in order, whatever the bounds (a GET that went
    /// away before taking them, or a closing session's last frames).
    pub(super) fn put_back(&self, frames: Vec<Frame>) {
        let mut state = crate::sync::lock(&self.state);
        let behind = std::mem::take(&mut state.waiting);
        let mut queued = self.queued.load(Ordering::Relaxed);
        for frame in frames {
            queued += 1;
            state.bytes += frame.len();
            state.waiting.push(Queued {
                frames: Frames::One(frame),
                compress: true,
            });
        }
        for waiting in behind {
            state.waiting.push(waiting);
        }
        self.queued.store(queued, Ordering::SeqCst);
    }
}

/// Frames taken from an outbox, oldest first. Most turns find one message or none, which needs no
/// list: the first is kept inline.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// The oldest, if anything was taken.
    pub(super) first: Option<Queued>,
    /// The others, in order (empty unless `first` is set).
    pub(super) more: VecDeque<Queued>,
}

impl Batch {
    fn push(&mut self, queued: Queued) {
        match self.first {
            None => self.first = Some(queued),
            Some(_) => self.more.push_back(queued),
        }
    }

    /// The frames, in order, without their flags (for a polling response).
    pub(super) fn into_frames(self) -> Vec<Frame> {
        let mut frames = Vec::new();
        for queued in self {
            frames.extend_from_slice(queued.frames.as_slice());
        }
        frames
    }
}

impl IntoIterator for Batch {
    type Item = Queued;
    type IntoIter = std::iter::Chain<
        std::option::IntoIter<Queued>,
        std::collections::vec_deque::IntoIter<Queued>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.more)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    /// Counts its wakes.
    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn texts(batch: Batch) -> Vec<String> {
        batch
            .into_frames()
            .iter()
            .map(|frame| match frame {
                Frame::Text(text) => text.to_string(),
                Frame::Binary(bytes) => format!("<{} bytes>", bytes.len()),
            })
            .collect()
    }

    fn one(text: &str) -> Frames {
        Frames::One(Frame::text_message(text))
    }

    const VOLATILE: SendOptions = SendOptions {
        compress: true,
        volatile: true,
    };

    #[test]
    fn bounded_in_frames_and_in_bytes() {
        let frame = Frame::text_message("x".repeat(99).as_str());
        let size = frame.len();
        let push = |outbox: &Outbox, frames: Frames| outbox.push(frames, SendOptions::default());
        let outbox = Outbox::new(10, size - 1, TransportKind::WebSocket);
        // A lone frame bigger than the byte bound goes into an empty outbox...
        assert_eq!(push(&outbox, Frames::One(frame.clone())), Ok(()));
        // ...but not behind another.
        assert_eq!(
            push(&outbox, Frames::One(frame.clone())),
            Err(PushError::Full)
        );
        assert_eq!(outbox.take(None).into_frames().len(), 1);
        let outbox = Outbox::new(2, usize::MAX, TransportKind::WebSocket);
        let two: Frames = Frames::Shared(vec![frame.clone(), frame.clone()].into());
        assert_eq!(push(&outbox, two), Ok(()));
        assert_eq!(
            push(&outbox, Frames::One(frame.clone())),
            Err(PushError::Full)
        );
        assert_eq!(outbox.take(None).into_frames().len(), 2);
        assert!(outbox.is_empty(), "counts reset by take");
        assert_eq!(push(&outbox, Frames::One(frame)), Ok(()));
    }

    #[test]
    fn order_is_kept_across_put_back() {
        let outbox = Outbox::new(10, usize::MAX, TransportKind::Polling);
        for text in ["a", "b"] {
            outbox.push(one(text), SendOptions::default()).unwrap();
        }
        let taken = outbox.take(None).into_frames();
        outbox.push(one("c"), SendOptions::default()).unwrap();
        outbox.put_back(taken);
        assert_eq!(texts(outbox.take(None)), ["4a", "4b", "4c"]);
    }

    #[test]
    fn a_parked_writer_is_woken_once_when_frames_arrive() {
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(Arc::clone(&wakes));
        let outbox = Outbox::new(10, usize::MAX, TransportKind::WebSocket);
        assert!(texts(outbox.take(Some(&waker))).is_empty());
        for text in ["a", "b", "c"] {
            outbox.push(one(text), SendOptions::default()).unwrap();
        }
        assert_eq!(
            wakes.0.load(Ordering::Relaxed),
            1,
            "one wake for three frames"
        );
        assert_eq!(texts(outbox.take(Some(&waker))), ["4a", "4b", "4c"]);
        // A running writer (unparked) is not woken by what it sends itself.
        outbox.take(Some(&waker));
        outbox.unpark();
        outbox.push(one("d"), SendOptions::default()).unwrap();
        assert_eq!(wakes.0.load(Ordering::Relaxed), 1);
        assert_eq!(texts(outbox.take(Some(&waker))), ["4d"]);
    }

    #[test]
    fn volatile_frames_go_only_where_the_transport_can_take_them_now() {
        let waker = Waker::from(Arc::new(Wakes::default()));
        let polling = Outbox::new(10, usize::MAX, TransportKind::Polling);
        polling.push(one("dropped"), VOLATILE).unwrap();
        assert!(polling.is_empty(), "no GET waits");
        polling.take(Some(&waker));
        polling.push(one("live"), VOLATILE).unwrap();
        polling.push(one("dropped"), VOLATILE).unwrap();
        assert_eq!(texts(polling.take(None)), ["4live"]);

        let websocket = Outbox::new(1, usize::MAX, TransportKind::WebSocket);
        websocket.push(one("first"), VOLATILE).unwrap();
        websocket.push(one("dropped"), VOLATILE).unwrap();
        assert_eq!(
            websocket.push(one("full"), SendOptions::default()),
            Err(PushError::Full),
            "volatile frames are dropped, others overflow"
        );
        assert_eq!(texts(websocket.take(None)), ["4first"]);
    }

    #[test]
    fn a_closed_outbox_refuses_frames_and_keeps_the_waiting_ones() {
        let outbox = Outbox::new(10, usize::MAX, TransportKind::WebSocket);
        outbox.push(one("last"), SendOptions::default()).unwrap();
        outbox.close();
        assert_eq!(
            outbox.push(one("late"), SendOptions::default()),
            Err(PushError::Closed)
        );
        assert_eq!(texts(outbox.take(None)), ["4last"]);
    }
}
