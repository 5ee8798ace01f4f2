//! [`EngineSocket`]: the handle the upper layer (and the hub) uses to write to one session.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use actix::prelude::*;

use super::outbox::{Outbox, PushError};
use super::packet::Frame;
use super::sid::Sid;
use super::types::{CloseReason, CloseSession, Frames, SendOptions};
use super::worker_inbox::{InboxTarget, WorkerInbox};

/// Why a frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The session has ended.
    #[error("the session is closed")]
    Closed,
    /// The client fell behind; the session is being closed.
    #[error("the session's queue is full; it is being closed as a slow consumer")]
    SlowConsumer,
}

/// A cheap, cloneable, thread-safe handle to one Engine.IO session.
#[derive(Clone)]
pub struct EngineSocket {
    inner: Arc<Inner>,
}

struct Inner {
    sid: Sid,
    /// The session's outgoing frames, which its transport's writer takes.
    outbox: Arc<Outbox>,
    /// The session actor, for closing it.
    closing: Recipient<CloseSession>,
    label: Arc<OnceLock<String>>,
    /// Set once the session was told to close for falling behind, so it is told only once.
    overflowed: AtomicBool,
    /// The inbox of the worker thread the session runs on: frames from other threads go there.
    inbox: Arc<WorkerInbox<EngineSocket>>,
}

impl EngineSocket {
    pub(super) fn new(
        sid: Sid,
        outbox: Arc<Outbox>,
        closing: Recipient<CloseSession>,
        label: Arc<OnceLock<String>>,
        inbox: Arc<WorkerInbox<EngineSocket>>,
    ) -> EngineSocket {
        EngineSocket {
            inner: Arc::new(Inner {
                sid,
                outbox,
                closing,
                label,
                overflowed: AtomicBool::new(false),
                inbox,
            }),
        }
    }

    /// The session id.
    pub fn sid(&self) -> &Sid {
        &self.inner.sid
    }

    /// Names who is behind the session in its closing log line (the first label set wins).
    pub fn set_label(&self, label: &str) {
        let _ = self.inner.label.set(label.to_string());
    }

    /// Queues frames for the client, in order. A full queue closes the session as a slow consumer.
    pub fn send(&self, frames: Frames) -> Result<(), SendError> {
        self.send_with(frames, SendOptions::default())
    }

    /// Queues frames with send options: volatile frames the transport cannot take now are
    /// dropped (answering `Ok`), never counted against the client. From another thread than the
    /// session's, the frames go through its worker's inbox (see [`WorkerInbox`]).
    pub fn send_with(&self, frames: Frames, options: SendOptions) -> Result<(), SendError> {
        let inbox = &self.inner.inbox;
        if !inbox.is_current() {
            if !self.is_open() {
                return Err(SendError::Closed);
            }
            return match inbox.send(self.clone(), frames, options) {
                Ok(()) => Ok(()),
                Err(_) if options.volatile => Ok(()),
                Err(_) => Err(self.overflowed()),
            };
        }
        inbox.before_local_send();
        self.send_here(frames, options)
    }

    /// [`Self::send_with`] on the session's own thread.
    pub(super) fn send_here(&self, frames: Frames, options: SendOptions) -> Result<(), SendError> {
        match self.inner.outbox.push(frames, options) {
            Ok(()) => Ok(()),
            Err(PushError::Closed) => Err(SendError::Closed),
            Err(PushError::Full) => Err(self.overflowed()),
        }
    }

    /// The client fell behind: the session closes (told once) and the frames are dropped.
    fn overflowed(&self) -> SendError {
        if !self.inner.overflowed.swap(true, Ordering::Relaxed) {
            self.inner
                .closing
                .do_send(CloseSession(CloseReason::SlowConsumer));
        }
        SendError::SlowConsumer
    }

    /// Queues one frame.
    pub fn send_frame(&self, frame: Frame) -> Result<(), SendError> {
        self.send(Frames::One(frame))
    }

    /// Closes the session after the frames queued before this call are written.
    pub fn close(&self, reason: CloseReason) {
        self.inner.closing.do_send(CloseSession(reason));
    }

    /// True while the session actor runs.
    pub fn is_open(&self) -> bool {
        self.inner.closing.connected()
    }
}

impl std::fmt::Debug for EngineSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSocket")
            .field("sid", &self.inner.sid)
            .finish()
    }
}

impl InboxTarget for EngineSocket {
    fn inbox(&self) -> &Arc<WorkerInbox<EngineSocket>> {
        &self.inner.inbox
    }

    fn send_anywhere(&self, frames: Frames, options: SendOptions) {
        // A full queue closes that session; the sender is not held up by it.
        let _ = self.send_with(frames, options);
    }

    fn send_here(&self, frames: Frames, options: SendOptions) {
        let _ = EngineSocket::send_here(self, frames, options);
    }

    fn worker_behind(&self) {
        let _ = self.overflowed();
    }
}

thread_local! {
    /// The inbox of the worker on this thread, once a session was opened here.
    static INBOX: RefCell<Option<Arc<WorkerInbox<EngineSocket>>>> = const { RefCell::new(None) };
}

/// The inbox of the worker on this thread (started on first use, and again after its runtime
/// ended), for the sessions opened here.
pub(super) fn worker_inbox_here() -> Arc<WorkerInbox<EngineSocket>> {
    INBOX.with_borrow_mut(|inbox| {
        if let Some(inbox) = inbox.as_ref().filter(|inbox| inbox.is_alive()) {
            return Arc::clone(inbox);
        }
        let started = WorkerInbox::start();
        *inbox = Some(Arc::clone(&started));
        started
    })
}
