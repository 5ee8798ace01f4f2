//! The HTTP long-polling transport: GET drains a session's queue, POST delivers packets.

use actix_web::web::{Bytes, Payload};
use actix_web::HttpResponse;
use bytestring::ByteString;
use futures_util::StreamExt;

use super::error::EngineError;
use super::gzip;
use super::packet::Frame;
use super::payload;
use super::session::{EngineSession, GetAbandoned, Incoming, Poll, PollReply};
use super::types::{CloseReason, CloseSession, POLLING};
use super::Engine;
use actix::Addr;
use tokio::sync::oneshot;

const TEXT_PLAIN: &str = "text/plain; charset=UTF-8";

/// Answers a GET on an open session with its queued frames, waiting for some if there are none;
/// gzipped when `gzip` (the client accepts it) and the body is long enough.
pub async fn poll(engine: &Engine, sid: &str, gzip: bool) -> Result<HttpResponse, EngineError> {
    let session = engine.registry.get(sid).ok_or(EngineError::UnknownSid)?;
    poll_session(&session, gzip).await
}

/// Answers a GET from this session's queue.
pub async fn poll_session(
    session: &Addr<EngineSession>,
    gzip: bool,
) -> Result<HttpResponse, EngineError> {
    let reply = session
        .send(Poll)
        .await
        .map_err(|_| EngineError::UnknownSid)??;
    let frames = match reply {
        PollReply::Ready(frames) => frames,
        PollReply::Wait(receiver) => {
            let mut pending = PendingGet {
                session: session.clone(),
                receiver,
                settled: false,
            };
            let answer = (&mut pending.receiver).await;
            pending.settled = true;
            // The session dropping the sender means it stopped without a last word.
            answer.map_err(|_| EngineError::UnknownSid)??
        }
    };
    Ok(gzip::polling_response(payload::encode(&frames), gzip))
}

/// A GET waiting for frames. actix-web drops the request's future when its client goes away
/// (it aborted, or the network reset the connection); dropped before its answer came, it tells
/// the session, which ends the transport at once as a transport error (so recovery can keep the
/// socket) instead of waiting for the ping timeout.
struct PendingGet {
    session: Addr<EngineSession>,
    receiver: oneshot::Receiver<Result<Vec<Frame>, EngineError>>,
    /// The session answered (frames, a noop for an upgrade, or an error), or stopped.
    settled: bool,
}

impl Drop for PendingGet {
    fn drop(&mut self) {
        if !self.settled {
            // Closed first, so that the session sees this GET gone when the news arrives.
            self.receiver.close();
            self.session.do_send(GetAbandoned);
        }
    }
}

/// Reads a POST body (at most `maxPayload` bytes) and hands its packets to the session.
pub async fn post(
    engine: &Engine,
    sid: &str,
    declared_length: Option<usize>,
    body: Payload,
) -> Result<HttpResponse, EngineError> {
    let session = engine.registry.get(sid).ok_or(EngineError::UnknownSid)?;
    let body = read_post(engine, sid, declared_length, body).await?;
    deliver(&session, sid, body).await
}

/// Reads a POST body of at most `maxPayload` bytes, whatever its Content-Length claims.
pub async fn read_post(
    engine: &Engine,
    sid: &str,
    declared_length: Option<usize>,
    body: Payload,
) -> Result<Bytes, EngineError> {
    let limit = engine.config.max_payload;
    let body = if declared_length.is_some_and(|length| length > limit) {
        Err(EngineError::PayloadTooLarge)
    } else {
        read_body(body, limit).await
    };
    // As the reference server does, the session survives: its client may retry smaller.
    body.inspect_err(|error| tracing::warn!(sid, %error, "refused a polling POST"))
}

/// Hands the packets of a POST body already read (a request forwarded by another node) to the
/// session.
pub async fn post_read(
    engine: &Engine,
    sid: &str,
    body: Bytes,
) -> Result<HttpResponse, EngineError> {
    let session = engine.registry.get(sid).ok_or(EngineError::UnknownSid)?;
    if body.len() > engine.config.max_payload {
        tracing::warn!(sid, error = %EngineError::PayloadTooLarge, "refused a polling POST");
        return Err(EngineError::PayloadTooLarge);
    }
    deliver(&session, sid, body).await
}

/// Decodes a POST body and hands its packets to the session; a malformed body closes it.
async fn deliver(
    session: &Addr<EngineSession>,
    sid: &str,
    body: Bytes,
) -> Result<HttpResponse, EngineError> {
    let text = ByteString::try_from(body).map_err(|_| EngineError::BadRequest)?;
    let packets = match payload::decode(text) {
        Ok(packets) => packets,
        Err(error) => {
            tracing::warn!(sid, %error, "malformed polling payload; closing the session");
            session.do_send(CloseSession(CloseReason::TransportError));
            return Err(EngineError::BadRequest);
        }
    };
    session
        .send(Incoming {
            from: POLLING,
            packets,
        })
        .await
        .map_err(|_| EngineError::UnknownSid)??;
    Ok(HttpResponse::Ok().content_type(TEXT_PLAIN).body("ok"))
}

/// The Content-Length a request claims, if any.
pub fn declared_length(req: &actix_web::HttpRequest) -> Option<usize> {
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse().ok())
}

/// Collects a request body, refusing it as soon as it grows past `limit`, whatever its
/// Content-Length claims.
async fn read_body(mut body: Payload, limit: usize) -> Result<Bytes, EngineError> {
    let mut buffer = bytes::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| EngineError::BadRequest)?;
        if buffer.len() + chunk.len() > limit {
            return Err(EngineError::PayloadTooLarge);
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}
