//! The execution context of a WebSocket actor, on our own frame codec.
//!
//! Like actix-web-actors' context, it runs the actor inside the response body's stream: the
//! actor's mailbox is handled only when the HTTP dispatcher asks for more bytes, so a client
//! that stops reading stops its actor's mailbox too and the session sees it as a full sink. Frames
//! the actor writes are encoded at once into one buffer, handed to the dispatcher as one chunk.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix::dev::{
    AsyncContextParts, ContextFut, ContextParts, Envelope, Mailbox, StreamHandler, ToEnvelope,
};
use actix::fut::ActorFuture;
use actix::{Actor, ActorContext, ActorState, Addr, AsyncContext, Handler, SpawnHandle};
use actix_http::ws::{hash_key, verify_handshake, HandshakeError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web::{Bytes, BytesMut, Payload};
use actix_web::{HttpRequest, HttpResponse};
use bytestring::ByteString;
use futures_util::Stream;
use tokio::sync::oneshot;

use super::deflate::{negotiate, Deflate};
use super::frame::{encode, CloseCode, OpCode};
use super::message::{MessageReader, WsError, WsMessage};

/// The largest empty read buffer kept between messages, in bytes.
const MAX_IDLE_READ_BUFFER: usize = 64 << 10;

/// What a WebSocket accepts from its client.
#[derive(Debug, Clone, Copy)]
pub struct WsSettings {
    /// Largest message, in bytes (after inflating).
    pub max_payload: usize,
    /// Agree to permessage-deflate when the client offers it.
    pub per_message_deflate: bool,
}

/// Completes the handshake of `req` and runs `actor` on the connection: its messages arrive as
/// stream items, and it writes through its [`WsContext`].
pub fn start<A>(
    actor: A,
    req: &HttpRequest,
    body: Payload,
    settings: WsSettings,
) -> Result<HttpResponse, HandshakeError>
where
    A: Actor<Context = WsContext<A>> + StreamHandler<Result<WsMessage, WsError>>,
{
    verify_handshake(req.head())?;
    let key = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|key| hash_key(key.as_bytes()))
        .ok_or(HandshakeError::BadWebsocketKey)?;
    let agreement = settings
        .per_message_deflate
        .then(|| {
            let offers = req.headers().get_all(header::SEC_WEBSOCKET_EXTENSIONS);
            negotiate(offers.filter_map(|value| value.to_str().ok()))
        })
        .flatten();
    let mut response = HttpResponse::build(StatusCode::SWITCHING_PROTOCOLS);
    response.upgrade("websocket");
    // The accept key is base64: always a valid header value.
    if let Ok(accept) = HeaderValue::from_bytes(&key) {
        response.insert_header((header::SEC_WEBSOCKET_ACCEPT, accept));
    }
    if let Some(agreement) = &agreement {
        response.insert_header((
            header::SEC_WEBSOCKET_EXTENSIONS,
            agreement.response.as_str(),
        ));
    }
    let mailbox = Mailbox::default();
    let mut ctx = WsContext {
        parts: ContextParts::new(mailbox.sender_producer()),
        out: BytesMut::new(),
        deflate: agreement.as_ref().map(|agreement| agreement.deflate),
        closed: false,
    };
    ctx.add_stream(Incoming {
        body,
        buf: BytesMut::new(),
        reader: MessageReader::new(settings.max_payload, agreement.is_some()),
        ended: false,
        failed: false,
    });
    Ok(response.streaming(Outgoing {
        fut: ContextFut::new(ctx, actor, mailbox),
    }))
}

/// The context of an actor serving one WebSocket.
pub struct WsContext<A: Actor<Context = WsContext<A>>> {
    parts: ContextParts<A>,
    /// Encoded frames not yet handed to the dispatcher.
    out: BytesMut,
    /// permessage-deflate, when agreed.
    deflate: Option<Deflate>,
    /// A close frame was written: nothing follows it.
    closed: bool,
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

    fn message(&mut self, opcode: OpCode, payload: &Bytes, compress: bool) {
        if self.closed {
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
        if !self.closed {
            encode(OpCode::Pong, false, payload, &mut self.out);
        }
    }

    /// Writes a close frame; the connection ends once it is written.
    pub fn close(&mut self, code: CloseCode) {
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

    /// Bounds the actor's mailbox.
    pub fn set_mailbox_capacity(&mut self, capacity: usize) {
        self.parts.set_mailbox_capacity(capacity);
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

/// The response body: runs the actor, then hands over what it wrote.
struct Outgoing<A: Actor<Context = WsContext<A>>> {
    fut: ContextFut<A, WsContext<A>>,
}

impl<A: Actor<Context = WsContext<A>>> Stream for Outgoing<A> {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.fut.alive() {
            let _ = Pin::new(&mut this.fut).poll(cx);
        }
        let alive = this.fut.alive();
        let ctx = this.fut.ctx();
        if !ctx.out.is_empty() {
            // Taken whole: an idle connection keeps no write buffer.
            Poll::Ready(Some(Ok(std::mem::take(&mut ctx.out).freeze())))
        } else if alive && !ctx.closed {
            Poll::Pending
        } else {
            Poll::Ready(None)
        }
    }
}

/// The request body, read as the client's messages; it ends after the first error.
struct Incoming {
    body: Payload,
    buf: BytesMut,
    reader: MessageReader,
    ended: bool,
    failed: bool,
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
                    // A large message read leaves a large empty buffer behind: an idle
                    // connection should not keep it.
                    if this.buf.is_empty() && this.buf.capacity() > MAX_IDLE_READ_BUFFER {
                        this.buf = BytesMut::new();
                    }
                }
                Err(error) => {
                    this.failed = true;
                    return Poll::Ready(Some(Err(error)));
                }
            }
            match Pin::new(&mut this.body).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.buf.extend_from_slice(&chunk),
                Poll::Ready(Some(Err(error))) => {
                    tracing::debug!(%error, "reading a WebSocket failed");
                    this.failed = true;
                    return Poll::Ready(Some(Err(WsError::Io)));
                }
                Poll::Ready(None) => this.ended = true,
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(None)
    }
}
