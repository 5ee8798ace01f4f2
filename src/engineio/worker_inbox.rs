//! [`WorkerInbox`]: frames for the sessions of one worker thread, sent from other threads.
//!
//! A session's transport runs on the worker thread that accepted it. Handing it a frame from
//! another thread (the hub's, the cluster's) used to wake its task from afar: for the tokio
//! runtime under each worker that is a lock and an `eventfd` write per session, so a broadcast to
//! 1,000 sockets cost 1,000 cross-thread wake-ups (docs/BENCHMARKS.md, "One hand-off per worker").
//! Now a sender on another thread puts the frames in the worker's inbox and wakes the worker once;
//! the worker hands them to its sessions itself, where waking a task is a push to a local queue.
//! A broadcast goes in as one [`Delivery`] for all the worker's recipients.
//!
//! Order: everything sent to a session from other threads goes through one FIFO inbox, and a
//! sender on the worker drains the inbox before it writes (see [`WorkerInbox::before_local_send`]),
//! so a frame never overtakes one sent before it.

use std::cell::Cell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use futures_util::task::AtomicWaker;

use super::types::{Frames, SendOptions};

/// Deliveries an inbox holds before further sends to its sessions are refused as slow consumers:
/// the worker is then that far behind its senders.
pub const MAX_PENDING_DELIVERIES: usize = 65_536;

thread_local! {
    /// The id of the inbox started on this thread (0: none).
    static HERE: Cell<usize> = const { Cell::new(0) };
    /// True while this thread hands out its inbox's deliveries (they do not drain it again).
    static DRAINING: Cell<bool> = const { Cell::new(false) };
}

/// Source of inbox ids (0 is none).
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// What an inbox delivers to: a session's handle.
pub trait InboxTarget: Clone + Send + Sync + 'static {
    /// The inbox of the worker the session runs on.
    fn inbox(&self) -> &Arc<WorkerInbox<Self>>;
    /// Sends from any thread (through the inbox from another one).
    fn send_anywhere(&self, frames: Frames, options: SendOptions);
    /// Sends on the session's own thread.
    fn send_here(&self, frames: Frames, options: SendOptions);
    /// Its worker is too far behind to take more for it: it closes as a slow consumer.
    fn worker_behind(&self);
}

/// Frames for sessions of one worker thread, handed over from other threads.
pub struct WorkerInbox<T> {
    id: usize,
    queue: Mutex<VecDeque<Delivery<T>>>,
    /// How many deliveries wait (read without the lock).
    pending: AtomicUsize,
    /// Set when a sender woke the drain task and it has not run since.
    woken: AtomicBool,
    /// The drain task.
    waker: AtomicWaker,
    /// Cleared when the drain task ends (its runtime stopped): the next session starts another.
    alive: AtomicBool,
}

/// Frames for one or more sessions of the worker.
struct Delivery<T> {
    frames: Frames,
    options: SendOptions,
    targets: Targets<T>,
}

/// The sessions of one delivery: most deliveries from afar are broadcasts to many.
enum Targets<T> {
    One(T),
    Many(Vec<T>),
}

/// The worker is [`MAX_PENDING_DELIVERIES`] behind: the frames were not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the worker's inbox is full")]
pub struct InboxFull;

impl<T: InboxTarget> WorkerInbox<T> {
    /// Starts the inbox of the worker on this thread. Must be called on an actix (tokio local)
    /// runtime: the inbox is drained by a task spawned on it, which lives as long as the runtime.
    pub fn start() -> Arc<WorkerInbox<T>> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        HERE.set(id);
        let inbox = Arc::new(WorkerInbox {
            id,
            queue: Mutex::new(VecDeque::new()),
            pending: AtomicUsize::new(0),
            woken: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            alive: AtomicBool::new(true),
        });
        actix_rt::spawn(drain_forever(Arc::clone(&inbox)));
        inbox
    }

    /// Whether its drain task still runs (it ends with its runtime).
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Whether this is the inbox of the thread calling.
    pub fn is_current(&self) -> bool {
        HERE.get() == self.id
    }

    /// Queues frames for one session (called from another thread).
    pub fn send(&self, target: T, frames: Frames, options: SendOptions) -> Result<(), InboxFull> {
        if self.is_full() {
            return Err(InboxFull);
        }
        self.push(Delivery {
            frames,
            options,
            targets: Targets::One(target),
        });
        Ok(())
    }

    /// Whether the worker is so far behind that sends to its sessions are refused.
    fn is_full(&self) -> bool {
        self.pending.load(Ordering::Relaxed) >= MAX_PENDING_DELIVERIES
    }

    fn push(&self, delivery: Delivery<T>) {
        // A poisoned lock means a sender panicked while pushing; the queue itself is intact.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push_back(delivery);
        self.pending.fetch_add(1, Ordering::Release);
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.waker.wake();
        }
    }

    /// Called on the worker before a session of it is sent frames from the worker itself: hands
    /// out what other threads sent before, so the new frames come after them.
    pub fn before_local_send(&self) {
        if self.pending.load(Ordering::Acquire) > 0 && !DRAINING.get() {
            self.drain();
        }
    }

    /// Hands every waiting delivery to its sessions, in order.
    fn drain(&self) {
        self.woken.store(false, Ordering::Release);
        let deliveries = std::mem::take(
            &mut *self
                .queue
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        if deliveries.is_empty() {
            return;
        }
        self.pending.fetch_sub(deliveries.len(), Ordering::Release);
        let _draining = Draining::enter();
        for Delivery {
            frames,
            options,
            targets,
        } in deliveries
        {
            match targets {
                Targets::One(target) => target.send_here(frames, options),
                Targets::Many(targets) => {
                    for target in targets {
                        target.send_here(frames.clone(), options);
                    }
                }
            }
        }
    }
}

/// Marks this thread as draining its inbox until dropped (also when a send panics).
struct Draining;

impl Draining {
    fn enter() -> Draining {
        DRAINING.set(true);
        Draining
    }
}

impl Drop for Draining {
    fn drop(&mut self) {
        DRAINING.set(false);
    }
}

/// One broadcast's frames on their way to many sessions: sessions of other worker threads are
/// gathered per worker and handed over in one delivery each by [`Fanout::finish`]; sessions of
/// this thread are sent to at once.
pub struct Fanout<T> {
    frames: Frames,
    options: SendOptions,
    batches: Vec<(Arc<WorkerInbox<T>>, Vec<T>)>,
}

impl<T: InboxTarget> Fanout<T> {
    /// A broadcast of `frames` with `options`.
    pub fn new(frames: Frames, options: SendOptions) -> Fanout<T> {
        Fanout {
            frames,
            options,
            batches: Vec::new(),
        }
    }

    /// Adds a recipient. A full queue closes that session; the others are not held up by it.
    pub fn add(&mut self, socket: &T) {
        let inbox = socket.inbox();
        if inbox.is_current() {
            socket.send_anywhere(self.frames.clone(), self.options);
            return;
        }
        // A handful of workers: a linear search is the cheapest lookup.
        match self.batches.iter_mut().find(|(i, _)| Arc::ptr_eq(i, inbox)) {
            Some((_, targets)) => targets.push(socket.clone()),
            None => self.batches.push((Arc::clone(inbox), vec![socket.clone()])),
        }
    }

    /// How many workers the recipients so far are on, besides this thread.
    #[cfg(test)]
    pub(crate) fn workers(&self) -> usize {
        self.batches.len()
    }

    /// Hands the gathered recipients to their workers, one delivery per worker.
    pub fn finish(self) {
        for (inbox, targets) in self.batches {
            if inbox.is_full() {
                if !self.options.volatile {
                    targets.iter().for_each(T::worker_behind);
                }
                continue;
            }
            inbox.push(Delivery {
                frames: self.frames.clone(),
                options: self.options,
                targets: Targets::Many(targets),
            });
        }
    }
}

/// The worker's drain task: runs whenever a sender wakes it, for the life of the runtime.
async fn drain_forever<T: InboxTarget>(inbox: Arc<WorkerInbox<T>>) {
    /// Marks the inbox dead when the task is dropped with its runtime.
    struct Alive<T: InboxTarget>(Arc<WorkerInbox<T>>);
    impl<T: InboxTarget> Drop for Alive<T> {
        fn drop(&mut self) {
            self.0.alive.store(false, Ordering::Release);
        }
    }
    let alive = Alive(inbox);
    poll_fn(|cx| {
        alive.0.waker.register(cx.waker());
        alive.0.drain();
        Poll::<()>::Pending
    })
    .await;
}
