//! The execution context of a WebSocket actor, on its own TCP connection.
//!
//! After the handshake the connection belongs to one task, the [`Driver`]: it runs the actor
//! (its mailbox, its timers, and the [`Incoming`] stream that reads the socket), then takes what
//! waits in the session's [`Outbox`] (once the actor attached it) and writes it with what the
//! actor wrote. Frames are encoded at once into one buffer, so the frames of one turn, replies to
//! the message just handled included, go out in one write. The actor and the outbox are served
//! only while that buffer is below [`WRITE_HIGH_WATER`]: a client that stops reading leaves its
//! frames in the outbox, which fills, and the session closes as a slow consumer. Neither buffer
//! outlives its use: an idle connection holds no read buffer and no write buffer.

use std::future::Future;
use std::io::ErrorKind;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use actix::dev::{
    AsyncContextParts, ContextFut, ContextParts, Envelope, Mailbox, StreamHandler, ToEnvelope,
};
use actix::fut::ActorFuture;
use actix::{Actor, ActorContext, ActorState, Addr, AsyncContext, Handler, SpawnHandle};
use actix_rt::net::TcpStream;
use actix_web::web::{Bytes, BytesMut};
use bytes::Buf;
use bytestring::ByteString;
use futures_util::Stream;
use tokio::io::Interest;
use tokio::sync::oneshot;

use super::super::outbox::{Batch, Outbox, Queued};
use super::super::packet::Frame;
use super::deflate::Deflate;
use super::frame::{encode, CloseCode, OpCode};
use super::handshake::{Accepted, WsUpgrade};
use super::message::{MessageReader, WsError, WsMessage};

/// Bytes read from the socket per read call. When no message is half read they land in the
/// thread's [`READ_SCRATCH`] and only what arrived is copied to the connection: an idle
/// connection keeps no read buffer.
const READ_CHUNK: usize = 8 << 10;

thread_local! {
    /// Where a connection between messages reads, shared by the connections of this thread (one
    /// reads at a time). Reused rather than a fresh chunk on the stack, which would be zeroed on
    /// every read: 8 KiB of stores for a message of a hundred bytes.
    static READ_SCRATCH: std::cell::RefCell<BytesMut> =
        std::cell::RefCell::new(BytesMut::with_capacity(READ_CHUNK));
}

/// Messages the actor handles in one turn before the connection yields to the other tasks of its
/// thread (actix's `add_stream` yields after 16). The replies and the broadcasts of one turn leave
/// in one write, so a bigger turn means fewer, fuller writes when a client sends in bursts; the
/// bound keeps one busy client from holding its thread.
const MESSAGES_PER_TURN: usize = 128;

/// Bytes waiting to be written above which the actor is not run until the client reads.
const WRITE_HIGH_WATER: usize = 64 << 10;

/// How long a closed WebSocket keeps reading (and dropping) what its client still sends, after
/// the close frame and a FIN were written, before the connection is dropped. Dropping a socket
/// with unread bytes makes the kernel answer with a reset, and a reset can make the client lose
/// what it had not read yet: the last frames and the close frame itself (RFC 6455, 7.1.1: the
/// server closes after the client has had the chance to).
const CLOSE_LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// What a WebSocket accepts from its client.
#[derive(Debug, Clone, Copy)]
pub struct WsSettings {
    /// Largest message, in bytes (after inflating).
    pub max_payload: usize,
    /// Agree to permessage-deflate when the client offers it.
    pub per_message_deflate: bool,
}

/// Counts the WebSocket connections running (so a shutdown can wait for their close frames).
#[derive(Debug, Clone, Default)]
pub struct LiveSockets(Arc<AtomicUsize>);

impl LiveSockets {
    /// How many run now.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    fn enter(&self) -> LiveGuard {
        self.0.fetch_add(1, Ordering::Relaxed);
        LiveGuard(Arc::clone(&self.0))
    }
}

/// Counts one connection out when dropped.
struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Writes the handshake's 101 response and runs `actor` on the connection, in a task of its own
/// on this thread: its messages arrive as stream items, and it writes through its
/// [`WsContext`].
pub(super) fn run<A>(
    actor: A,
    upgrade: WsUpgrade,
    accepted: Accepted,
    max_payload: usize,
    live: &LiveSockets,
) where
    A: Actor<Context = WsContext<A>> + StreamHandler<Result<WsMessage, WsError>>,
{
    let (io, early) = upgrade.into_io();
    let io = Rc::new(io);
    let mailbox = Mailbox::default();
    let mut ctx = WsContext {
        parts: ContextParts::new(mailbox.sender_producer()),
        io: Rc::clone(&io),
        out: accepted.response,
        deflate: accepted.deflate,
        outbox: None,
        closed: false,
        broken: false,
    };
    ctx.spawn(Reading {
        incoming: Incoming {
            io,
            buf: early,
            reader: MessageReader::new(max_payload, accepted.deflate.is_some()),
            ended: false,
            failed: false,
        },
        started: false,
    });
    actix_rt::spawn(Driver {
        fut: ContextFut::new(ctx, actor, mailbox),
        _live: live.enter(),
    });
}

/// The context of an actor serving one WebSocket.
pub struct WsContext<A: Actor<Context = WsContext<A>>> {
    parts: ContextParts<A>,
    /// The connection, shared with the [`Incoming`] stream (reads and writes need no lock).
    io: Rc<TcpStream>,
    /// Encoded frames not yet written.
    out: BytesMut,
    /// permessage-deflate, when agreed.
    deflate: Option<Deflate>,
    /// The outbox of the session this connection carries, once attached.
    outbox: Option<Arc<Outbox>>,
    /// A close frame was written: nothing follows it.
    closed: bool,
    /// Writing failed: the client is gone, nothing more is written.
    broken: bool,
}

impl<A: Actor<Context = WsContext<A>>> WsContext<A> {
    /// Writes a text message, compressed where agreed if `compress`.
    pub fn text(&mut self, text: &ByteString, compress: bool) {
        self.message(OpCode::Text, text.as_bytes(), compress);
    }

    /// Writes a binary message, compressed where agreed if `compress`.
    pub fn binary(&mut self, bytes: &Bytes, compress: bool) {
        self.message(OpCode::Binary, bytes, compress);
    }

    /// Writes an Engine.IO frame as a text or binary message.
    pub fn frame(&mut self, frame: &Frame, compress: bool) {
        match frame {
            Frame::Text(text) => self.text(text, compress),
            Frame::Binary(bytes) => self.binary(bytes, compress),
        }
    }

    /// Makes this connection the writer of a session's outbox: what waits there is written at
    /// the end of this turn and of every later one.
    pub fn attach(&mut self, outbox: Arc<Outbox>) {
        self.outbox = Some(outbox);
    }

    /// Encodes everything waiting in the outbox. With `park`, an empty outbox wakes this task
    /// when frames arrive.
    fn write_outbox(&mut self, park: Option<&Waker>) {
        let Some(outbox) = &self.outbox else {
            return;
        };
        // Most turns find one message or none: no iterator is built for them.
        let Batch { first, more } = outbox.take(park);
        let Some(first) = first else {
            return;
        };
        self.write_queued(&first);
        if !more.is_empty() {
            for queued in &more {
                self.write_queued(queued);
            }
        }
    }

    fn write_queued(&mut self, queued: &Queued) {
        for frame in queued.frames.as_slice() {
            self.frame(frame, queued.compress);
        }
    }

    fn message(&mut self, opcode: OpCode, payload: &Bytes, compress: bool) {
        if self.closed || self.broken {
            return;
        }
        let deflate = self.deflate.filter(|_| compress);
        match deflate.and_then(|deflate| deflate.compress(payload)) {
            Some(compressed) => encode(opcode, true, &compressed, &mut self.out),
            None => encode(opcode, false, payload, &mut self.out),
        }
    }

    /// Answers a ping.
    pub fn pong(&mut self, payload: &[u8]) {
        if !self.closed && !self.broken {
            encode(OpCode::Pong, false, payload, &mut self.out);
        }
    }

    /// Writes what waits in the outbox, then a close frame; the connection ends once they are
    /// written.
    pub fn close(&mut self, code: CloseCode) {
        self.write_outbox(None);
        self.outbox = None;
        if !self.closed {
            encode(
                OpCode::Close,
                false,
                &code.number().to_be_bytes(),
                &mut self.out,
            );
            self.closed = true;
        }
    }

    /// Writes what waits, as far as the socket takes it; the buffer is released once empty.
    fn flush(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while !self.out.is_empty() {
            if let Err(error) = std::task::ready!(self.io.poll_write_ready(cx)) {
                return Poll::Ready(Err(error));
            }
            match self.io.try_write(&self.out) {
                Ok(0) => return Poll::Ready(Err(ErrorKind::WriteZero.into())),
                Ok(written) => self.out.advance(written),
                // Readiness was cleared: the next round registers for the next wake.
                Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
        self.out = BytesMut::new();
        Poll::Ready(Ok(()))
    }
}

impl<A: Actor<Context = WsContext<A>>> ActorContext for WsContext<A> {
    fn stop(&mut self) {
        self.parts.stop();
    }

    fn terminate(&mut self) {
        self.parts.terminate();
    }

    fn state(&self) -> ActorState {
        self.parts.state()
    }
}

impl<A: Actor<Context = WsContext<A>>> AsyncContext<A> for WsContext<A> {
    fn spawn<F>(&mut self, fut: F) -> SpawnHandle
    where
        F: ActorFuture<A, Output = ()> + 'static,
    {
        self.parts.spawn(fut)
    }

    fn wait<F>(&mut self, fut: F)
    where
        F: ActorFuture<A, Output = ()> + 'static,
    {
        self.parts.wait(fut);
    }

    fn waiting(&self) -> bool {
        self.parts.waiting()
            || matches!(
                self.parts.state(),
                ActorState::Stopping | ActorState::Stopped
            )
    }

    fn cancel_future(&mut self, handle: SpawnHandle) -> bool {
        self.parts.cancel_future(handle)
    }

    fn address(&self) -> Addr<A> {
        self.parts.address()
    }
}

impl<A: Actor<Context = WsContext<A>>> AsyncContextParts<A> for WsContext<A> {
    fn parts(&mut self) -> &mut ContextParts<A> {
        &mut self.parts
    }
}

impl<A, M> ToEnvelope<A, M> for WsContext<A>
where
    A: Actor<Context = WsContext<A>> + Handler<M>,
    M: actix::Message + Send + 'static,
    M::Result: Send,
{
    fn pack(msg: M, tx: Option<oneshot::Sender<M::Result>>) -> Envelope<A> {
        Envelope::new(msg, tx)
    }
}

/// The task of one WebSocket connection: runs the actor, then writes what it wrote.
struct Driver<A: Actor<Context = WsContext<A>>> {
    fut: ContextFut<A, WsContext<A>>,
    _live: LiveGuard,
}

impl<A: Actor<Context = WsContext<A>>> Future for Driver<A> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if let Some(outbox) = &this.fut.ctx().outbox {
            // What the actor sends during this turn is taken at its end, without a wake.
            outbox.unpark();
        }
        loop {
            let ctx = this.fut.ctx();
            let flushed = match ctx.flush(cx) {
                Poll::Ready(Ok(())) => true,
                Poll::Pending => false,
                Poll::Ready(Err(error)) => {
                    tracing::debug!(%error, "writing to a WebSocket failed");
                    ctx.broken = true;
                    ctx.out = BytesMut::new();
                    ctx.stop();
                    true
                }
            };
            let alive = this.fut.alive();
            if !alive && flushed {
                let ctx = this.fut.ctx();
                if !ctx.broken {
                    actix_rt::spawn(linger(Rc::clone(&ctx.io)));
                }
                return Poll::Ready(());
            }
            let ctx = this.fut.ctx();
            if !alive || ctx.out.len() >= WRITE_HIGH_WATER {
                // Woken when the socket takes more.
                return Poll::Pending;
            }
            let waiting = ctx.out.len();
            let _ = Pin::new(&mut this.fut).poll(cx);
            if !this.fut.alive() {
                continue;
            }
            let ctx = this.fut.ctx();
            ctx.write_outbox(Some(cx.waker()));
            if ctx.out.len() == waiting {
                return Poll::Pending;
            }
        }
    }
}

/// Ends a connection whose close frame is written: sends a FIN, then reads and drops what the
/// client still sends until it closes its side or [`CLOSE_LINGER`] passes.
async fn linger(io: Rc<TcpStream>) {
    if socket2::SockRef::from(&*io)
        .shutdown(std::net::Shutdown::Write)
        .is_err()
    {
        return;
    }
    let drain = async {
        let mut chunk = [0u8; 512];
        loop {
            if io.readable().await.is_err() {
                return;
            }
            match io.try_read(&mut chunk) {
                Ok(0) => return,
                Ok(_) => {}
                Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_LINGER, drain).await;
}

/// Hands the client's messages to the actor, [`MESSAGES_PER_TURN`] at most per turn; as actix's
/// `add_stream` does otherwise (`started` first, `finished` at the end of the stream).
struct Reading {
    incoming: Incoming,
    started: bool,
}

impl<A> ActorFuture<A> for Reading
where
    A: Actor<Context = WsContext<A>> + StreamHandler<Result<WsMessage, WsError>>,
{
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut A,
        ctx: &mut WsContext<A>,
        task: &mut Context<'_>,
    ) -> Poll<()> {
        let this = self.get_mut();
        if !this.started {
            this.started = true;
            <A as StreamHandler<_>>::started(act, ctx);
        }
        for _ in 0..MESSAGES_PER_TURN {
            match Pin::new(&mut this.incoming).poll_next(task) {
                Poll::Ready(Some(message)) => {
                    <A as StreamHandler<_>>::handle(act, message, ctx);
                    if ctx.waiting() {
                        return Poll::Pending;
                    }
                }
                Poll::Ready(None) => {
                    <A as StreamHandler<_>>::finished(act, ctx);
                    return Poll::Ready(());
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        // More may wait: come back after the other tasks had their turn.
        task.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The client's messages, read from the socket; it ends after the first error.
struct Incoming {
    io: Rc<TcpStream>,
    /// Bytes read and not yet decoded; empty (no allocation) between messages.
    buf: BytesMut,
    reader: MessageReader,
    ended: bool,
    failed: bool,
}

impl Incoming {
    /// Reads what the socket has into `buf`; `Ok(0)` at the end of the stream.
    fn read(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        loop {
            if let Err(error) = std::task::ready!(self.io.poll_read_ready(cx)) {
                return Poll::Ready(Err(error));
            }
            let read = if self.buf.is_empty() {
                READ_SCRATCH.with_borrow_mut(|scratch| {
                    scratch.clear();
                    let room = scratch.capacity();
                    let read = read_drained(&self.io, room, || self.io.try_read_buf(scratch));
                    if read.is_ok() {
                        self.buf = BytesMut::from(&scratch[..]);
                    }
                    read
                })
            } else {
                // A message is half read: the rest goes straight behind it.
                self.buf.reserve(READ_CHUNK);
                let room = self.buf.capacity() - self.buf.len();
                read_drained(&self.io, room, || self.io.try_read_buf(&mut self.buf))
            };
            match read {
                Ok(read) => return Poll::Ready(Ok(read)),
                // Readiness was cleared: the next round registers for the next wake.
                Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}

/// Runs `read`, a read of at most `room` bytes from `io`, and clears the socket's readiness when
/// it comes back short, as tokio's own `poll_read` does (`try_read` clears it only on "would
/// block"). A short read emptied the kernel's buffer, so the next read waits for the next wake
/// instead of making a system call that only answers "would block": with one request in flight,
/// that was one call in three. Data that arrives meanwhile wakes the task again, since the
/// reactor only clears the readiness it reported before the read, and a closed peer stays
/// readable.
fn read_drained(
    io: &TcpStream,
    room: usize,
    read: impl FnOnce() -> std::io::Result<usize>,
) -> std::io::Result<usize> {
    let mut short = None;
    let result = io.try_io(Interest::READABLE, || match read() {
        Ok(read) if read > 0 && read < room => {
            short = Some(read);
            Err(ErrorKind::WouldBlock.into())
        }
        other => other,
    });
    short.map_or(result, Ok)
}

impl Stream for Incoming {
    type Item = Result<WsMessage, WsError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        while !this.failed {
            match this.reader.read(&mut this.buf) {
                Ok(Some(message)) => return Poll::Ready(Some(Ok(message))),
                Ok(None) if this.ended => break,
                Ok(None) => {
                    if this.buf.is_empty() {
                        // Between messages: hold no read buffer.
                        this.buf = BytesMut::new();
                    }
                }
                Err(error) => {
                    this.failed = true;
                    return Poll::Ready(Some(Err(error)));
                }
            }
            match this.read(cx) {
                Poll::Ready(Ok(0)) => this.ended = true,
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(error)) => {
                    tracing::debug!(%error, "reading a WebSocket failed");
                    this.failed = true;
                    return Poll::Ready(Some(Err(WsError::Io)));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(None)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// Bounds each wait so a lost wake fails the test instead of hanging it.
    const WAIT: Duration = Duration::from_secs(5);

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let client = TcpStream::connect(address).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        (server, client)
    }

    async fn read_once(io: &TcpStream, buf: &mut [u8]) -> usize {
        loop {
            tokio::time::timeout(WAIT, io.readable())
                .await
                .expect("a wake")
                .expect("readable");
            let room = buf.len();
            match read_drained(io, room, || io.try_read(buf)) {
                Ok(read) => return read,
                Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                Err(error) => panic!("read failed: {error}"),
            }
        }
    }

    /// Whether the socket still counts as readable: `try_io` runs its closure only then.
    fn still_readable(io: &TcpStream) -> bool {
        let mut tried = false;
        let _ = io.try_io(Interest::READABLE, || {
            tried = true;
            Err::<(), _>(ErrorKind::WouldBlock.into())
        });
        tried
    }

    #[tokio::test]
    async fn a_short_read_clears_readiness_and_the_next_data_wakes_again() {
        let (server, mut client) = pair().await;
        let mut buf = [0u8; 64];
        client.write_all(b"first").await.expect("write");
        assert_eq!(read_once(&server, &mut buf).await, 5);
        assert!(
            !still_readable(&server),
            "after a short read the next read must wait for a wake, not try the socket"
        );
        client.write_all(b"second").await.expect("write");
        assert_eq!(read_once(&server, &mut buf).await, 6);
        assert_eq!(&buf[..6], b"second");
    }

    #[tokio::test]
    async fn a_full_read_keeps_readiness_for_what_is_left() {
        let (server, mut client) = pair().await;
        client.write_all(&[7u8; 100]).await.expect("write");
        let mut buf = [0u8; 64];
        assert_eq!(read_once(&server, &mut buf).await, 64);
        assert!(still_readable(&server), "more may wait after a full read");
        assert_eq!(read_once(&server, &mut buf).await, 36);
    }

    #[tokio::test]
    async fn a_peer_that_closes_after_its_last_bytes_is_still_seen_closing() {
        let (server, mut client) = pair().await;
        client.write_all(b"bye").await.expect("write");
        client.shutdown().await.expect("shutdown");
        drop(client);
        let mut buf = [0u8; 64];
        let mut total = 0;
        loop {
            match read_once(&server, &mut buf).await {
                0 => break,
                read => total += read,
            }
        }
        assert_eq!(total, 3);
    }
}
