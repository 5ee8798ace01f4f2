//! Errors of the Engine.IO layer, with the HTTP answers the protocol gives them.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// A packet that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// A message with no packet type.
    #[error("empty packet")]
    Empty,
    /// A packet type outside 1–6.
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// A `b…` packet whose base64 does not decode.
    #[error("invalid base64 in a binary packet")]
    InvalidBase64,
}

/// A refused Engine.IO request. The first six are the protocol's own error codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// Code 0: a transport other than polling and websocket.
    #[error("Transport unknown")]
    UnknownTransport,
    /// Code 1: no live session has this id.
    #[error("Session ID unknown")]
    UnknownSid,
    /// Code 2: a handshake that is not a GET.
    #[error("Bad handshake method")]
    BadHandshakeMethod,
    /// Code 3: a request the session cannot take now.
    #[error("Bad request")]
    BadRequest,
    /// Code 4: refused by the origin policy.
    #[error("Forbidden")]
    Forbidden,
    /// Code 5: an `EIO` other than 4.
    #[error("Unsupported protocol version")]
    UnsupportedProtocolVersion,
    /// A body or message over `maxPayload`.
    #[error("Payload too large")]
    PayloadTooLarge,
    /// A request of another node's session, refused because too many of this node's requests
    /// already wait for other nodes.
    #[error("Too many requests forwarded to other nodes")]
    ForwardBusy,
    /// A request of another node's session that its node did not answer in time.
    #[error("The session's node did not answer")]
    OwnerUnreachable,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u8,
    message: &'a str,
}

impl EngineError {
    /// The numeric code of the Engine.IO protocol (`{"code":N,"message":…}`).
    pub fn code(&self) -> u8 {
        match self {
            EngineError::UnknownTransport => 0,
            EngineError::UnknownSid => 1,
            EngineError::BadHandshakeMethod => 2,
            EngineError::BadRequest
            | EngineError::PayloadTooLarge
            | EngineError::ForwardBusy
            | EngineError::OwnerUnreachable => 3,
            EngineError::Forbidden => 4,
            EngineError::UnsupportedProtocolVersion => 5,
        }
    }
}

impl ResponseError for EngineError {
    fn status_code(&self) -> StatusCode {
        match self {
            EngineError::Forbidden => StatusCode::FORBIDDEN,
            EngineError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            EngineError::ForwardBusy | EngineError::OwnerUnreachable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = self.to_string();
        HttpResponse::build(self.status_code()).json(ErrorBody {
            code: self.code(),
            message: &message,
        })
    }
}
