//! The message board: name + message, stored, and sent live as `message` to every socket.

use std::net::IpAddr;

use serde::Deserialize;

use super::error::AppError;
use super::text::Text;
use super::AppContext;
use crate::socketio::{BroadcastOperator, Payload};
use crate::store::BoardMessage;

/// Longest poster name, in characters.
pub const MAX_NAME: usize = 40;
/// Longest board message, in characters.
pub const MAX_MESSAGE: usize = 1000;
/// Messages per page of `GET /messages`.
pub const PAGE_SIZE: u32 = 100;

/// A board post as submitted (JSON or form).
#[derive(Deserialize)]
pub struct BoardPost {
    #[serde(default)]
    /// The name the author gives.
    pub name: String,
    #[serde(default)]
    /// What it says.
    pub message: String,
}

/// Checks a post, counts it against its client's rate limit, stores it and sends it to `audience`.
pub async fn post_message(
    ctx: &AppContext,
    post: &BoardPost,
    peer: Option<IpAddr>,
    audience: BroadcastOperator,
) -> Result<BoardMessage, AppError> {
    let name = Text::parse(&post.name, "a name", MAX_NAME)?;
    let message = Text::parse(&post.message, "a message", MAX_MESSAGE)?;
    if let Some(ip) = peer {
        ctx.limits
            .board
            .hit(&ip)
            .map_err(|_| AppError::RateLimited)?;
    }
    let stored = ctx
        .store
        .add_board_message(name.as_str(), message.as_str())
        .await?;
    let _ = audience.emit("message", Payload::json(&stored));
    Ok(stored)
}
