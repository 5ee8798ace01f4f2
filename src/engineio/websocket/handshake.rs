//! The WebSocket opening handshake on a connection taken off the HTTP server: what the server in
//! front hands over ([`WsUpgrade`]), the checks of RFC 6455 §4.2.1, and the answers written
//! straight to the socket (the 101 that opens the WebSocket, or an error response).

use std::net::SocketAddr;

use actix_codec::Framed;
use actix_http::h1;
use actix_http::ws::{hash_key, verify_handshake, HandshakeError};
use actix_http::{HttpMessage, Request};
use actix_rt::net::TcpStream;
use actix_web::body::MessageBody;
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::Method;
use actix_web::web::{Bytes, BytesMut};
use actix_web::HttpResponse;
use tokio::io::AsyncWriteExt;

use super::deflate::{negotiate, Deflate};

/// The largest error body written to a refused handshake; the answers are a line of JSON.
const MAX_ANSWER_BODY: usize = 4 << 10;

/// A WebSocket handshake request with its connection, off the HTTP server: nothing of the HTTP
/// dispatcher (its task, its read and write buffers) is kept.
pub struct WsUpgrade {
    request: Request,
    io: TcpStream,
    /// Bytes the client sent after the request head (frames it did not wait to send).
    early: BytesMut,
}

/// A handshake that passed the checks: the response that opens the WebSocket, and the
/// compression agreed.
pub(super) struct Accepted {
    /// The 101 response, written before any frame.
    pub response: BytesMut,
    /// permessage-deflate, when agreed.
    pub deflate: Option<Deflate>,
}

impl WsUpgrade {
    /// Takes the connection out of actix-http's upgrade hook. The dispatcher's buffers are
    /// dropped here; bytes it had already read past the request head are kept in a buffer of
    /// their own size.
    pub fn new(request: Request, framed: Framed<TcpStream, h1::Codec>) -> WsUpgrade {
        let parts = framed.into_parts();
        WsUpgrade {
            request,
            early: BytesMut::from(&parts.read_buf[..]),
            io: parts.io,
        }
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        self.request.method()
    }

    /// The request path.
    pub fn path(&self) -> &str {
        self.request.path()
    }

    /// The request's query string ("" if none).
    pub fn query(&self) -> &str {
        self.request.uri().query().unwrap_or_default()
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        self.request.headers()
    }

    /// The client's address: the TCP peer unless [`set_peer`](Self::set_peer) said otherwise.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.request.peer_addr()
    }

    /// Names the client's address (a trusted proxy's forwarded client).
    pub fn set_peer(&mut self, peer: SocketAddr) {
        self.request.head_mut().peer_addr = Some(peer);
    }

    /// Checks the handshake and prepares its 101 response, agreeing to permessage-deflate if
    /// `per_message_deflate` and the client offers it.
    pub(super) fn accept(&self, per_message_deflate: bool) -> Result<Accepted, HandshakeError> {
        verify_handshake(self.request.head())?;
        let key = self
            .headers()
            .get(header::SEC_WEBSOCKET_KEY)
            .map(|key| hash_key(key.as_bytes()))
            .ok_or(HandshakeError::BadWebsocketKey)?;
        let agreement = per_message_deflate
            .then(|| {
                let offers = self.headers().get_all(header::SEC_WEBSOCKET_EXTENSIONS);
                negotiate(offers.filter_map(|value| value.to_str().ok()))
            })
            .flatten();
        let mut response = BytesMut::with_capacity(160);
        response.extend_from_slice(
            b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\
              connection: upgrade\r\nsec-websocket-accept: ",
        );
        response.extend_from_slice(&key);
        if let Some(agreement) = &agreement {
            response.extend_from_slice(b"\r\nsec-websocket-extensions: ");
            response.extend_from_slice(agreement.response.as_bytes());
        }
        response.extend_from_slice(b"\r\n\r\n");
        Ok(Accepted {
            response,
            deflate: agreement.map(|agreement| agreement.deflate),
        })
    }

    /// The connection and the bytes already read from it, once the handshake is accepted.
    pub(super) fn into_io(self) -> (TcpStream, BytesMut) {
        (self.io, self.early)
    }

    /// Answers the handshake with `response` (an error: its status, headers and body) and closes
    /// the connection.
    pub async fn answer(self, response: HttpResponse) {
        let mut io = self.io;
        let bytes = serialize(response).await;
        if let Err(error) = io.write_all(&bytes).await {
            tracing::debug!(%error, "could not answer a WebSocket handshake");
            return;
        }
        let _ = io.shutdown().await;
    }
}

/// An HTTP/1.1 response as bytes, closing the connection.
async fn serialize(response: HttpResponse) -> Vec<u8> {
    let (head, body) = response.into_parts();
    let body = actix_web::body::to_bytes_limited(body.boxed(), MAX_ANSWER_BODY)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_else(Bytes::new);
    let status = head.status();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default()
    )
    .into_bytes();
    for (name, value) in head.headers() {
        if *name == header::CONTENT_LENGTH || *name == header::CONNECTION {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&body);
    out
}
