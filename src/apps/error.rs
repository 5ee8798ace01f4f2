//! [`AppError`]: why an app refused an event, sent as the ack `{"ok":false,"error":{"code","message"}}`.

use serde::Serialize;
use serde_json::{json, Value};

use crate::socketio::{AckSender, Payload};
use crate::store::{StoreError, TradeError};

/// What sort of refusal an [`AppError`] is, whatever its code: the web layer answers HTTP with the
/// status that fits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is wrong (malformed, empty, or over a limit).
    BadRequest,
    /// Only a signed-in user may do this.
    Unauthenticated,
    /// The caller may not do this.
    Forbidden,
    /// What the request names does not exist.
    NotFound,
    /// The request clashes with the current state (a trade no longer open, an item that moved).
    Conflict,
    /// The caller is over a rate limit.
    RateLimited,
    /// The server failed.
    Internal,
}

/// An app-level refusal.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The payload is not what the event takes (the message says why).
    #[error("{0}")]
    BadRequest(String),
    /// Only a signed-in user may do this.
    #[error("sign in first")]
    Unauthenticated,
    /// The socket is not a member of the room.
    #[error("join the room first")]
    NotInRoom,
    /// Over a rate limit.
    #[error("too many requests; slow down")]
    RateLimited,
    /// The socket or user is in as many chat rooms as allowed.
    #[error("you are in too many chat rooms; leave one first")]
    TooManyRooms,
    /// As many chat rooms are listed as allowed.
    #[error("there are too many chat rooms; join one of the listed rooms")]
    RoomsFull,
    /// A trade offer that moves nothing.
    #[error("offer at least one item, or ask for one")]
    EmptyOffer,
    /// The store refused the trade operation.
    #[error(transparent)]
    Trade(#[from] TradeError),
    /// Something failed on the server (logged).
    #[error("internal error")]
    Internal,
}

impl AppError {
    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthenticated => "unauthenticated",
            AppError::NotInRoom => "not_in_room",
            AppError::RateLimited => "rate_limited",
            AppError::TooManyRooms => "too_many_rooms",
            AppError::RoomsFull => "rooms_full",
            AppError::EmptyOffer => "empty_offer",
            AppError::Trade(error) => match error {
                TradeError::UnknownUser => "unknown_user",
                TradeError::SelfTrade => "self_trade",
                TradeError::NotOwner => "not_owner",
                TradeError::NotTheirs => "not_theirs",
                TradeError::NotFound => "not_found",
                TradeError::Forbidden => "forbidden",
                TradeError::NotActive { .. } => "not_active",
                TradeError::Store(_) => "internal",
            },
            AppError::Internal => "internal",
        }
    }

    /// What sort of refusal this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AppError::BadRequest(_)
            | AppError::TooManyRooms
            | AppError::RoomsFull
            | AppError::EmptyOffer => ErrorKind::BadRequest,
            AppError::Unauthenticated => ErrorKind::Unauthenticated,
            AppError::NotInRoom => ErrorKind::Forbidden,
            AppError::RateLimited => ErrorKind::RateLimited,
            AppError::Trade(error) => match error {
                TradeError::SelfTrade => ErrorKind::BadRequest,
                TradeError::UnknownUser | TradeError::NotFound => ErrorKind::NotFound,
                TradeError::Forbidden => ErrorKind::Forbidden,
                TradeError::NotOwner | TradeError::NotTheirs | TradeError::NotActive { .. } => {
                    ErrorKind::Conflict
                }
                TradeError::Store(_) => ErrorKind::Internal,
            },
            AppError::Internal => ErrorKind::Internal,
        }
    }

    /// The error as an ack body; a trade that is no longer active comes with its current state.
    pub fn to_json(&self) -> Value {
        let mut body =
            json!({ "ok": false, "error": { "code": self.code(), "message": self.to_string() } });
        if let AppError::Trade(TradeError::NotActive { trade, .. }) = self {
            body["trade"] = json!(trade);
        }
        body
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "storage failed");
        AppError::Internal
    }
}

impl AppError {
    /// Logs storage failures hidden inside trade errors.
    pub fn logged(self) -> AppError {
        if let AppError::Trade(TradeError::Store(error)) = &self {
            tracing::error!(%error, "storage failed");
        }
        self
    }
}

/// Parses an event's first argument, or refuses it as a bad request.
pub fn parse<T: serde::de::DeserializeOwned>(payload: &Payload) -> Result<T, AppError> {
    payload
        .first()
        .map_err(|e| AppError::BadRequest(format!("invalid payload: {e}")))
}

/// Acks `{"ok":true, ...fields}` or the error, if the client asked for an ack.
pub fn reply<T: Serialize>(ack: Option<AckSender>, result: Result<T, AppError>) {
    let Some(ack) = ack else {
        return;
    };
    let body = match result {
        Ok(fields) => {
            let mut body = serde_json::to_value(fields).unwrap_or_else(|_| json!({}));
            if let Some(object) = body.as_object_mut() {
                object.insert("ok".into(), Value::Bool(true));
            }
            body
        }
        Err(error) => error.to_json(),
    };
    let _ = ack.send(Payload::new(vec![body]));
}
