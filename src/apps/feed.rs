//! The tweet feed: posting (socket `tweet:post` or `POST /api/tweets`), and the `newTweet`
//! notification every other socket gets, from which pages show their "N new tweets" banner.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::AppError;
use super::identity::verified_identity;
use super::text::Text;
use super::AppContext;
use crate::accounts::Identity;
use crate::socketio::{BroadcastOperator, Payload, Socket};
use crate::store::Tweet;

/// Longest tweet, in characters.
pub const MAX_TWEET: usize = 280;

/// A tweet to post.
#[derive(Deserialize)]
pub struct TweetRequest {
    /// What it says.
    pub text: String,
}

/// Stores a tweet by a signed-in user (rate-limited per user) and notifies `audience`.
pub async fn post_tweet(
    ctx: &AppContext,
    author: &Identity,
    text: &str,
    audience: BroadcastOperator,
) -> Result<Tweet, AppError> {
    let user = author.user().ok_or(AppError::Unauthenticated)?;
    let text = Text::parse(text, "a tweet", MAX_TWEET)?;
    ctx.limits
        .tweets
        .hit(&user.name.key())
        .map_err(|_| AppError::RateLimited)?;
    let tweet = ctx
        .store
        .add_tweet(user.name.as_str(), text.as_str())
        .await?;
    let _ = audience.emit(
        "newTweet",
        Payload::json(json!({ "id": tweet.id, "author": tweet.author })),
    );
    Ok(tweet)
}

/// The ack of `tweet:post`: `{ok, tweet}`.
#[derive(Serialize)]
pub struct TweetReply {
    /// The stored tweet.
    pub tweet: Tweet,
}

/// `tweet:post` `{text}`: acks `{ok, tweet}`; every other socket gets `newTweet`.
pub async fn on_post(
    ctx: AppContext,
    socket: Socket,
    request: TweetRequest,
) -> Result<TweetReply, AppError> {
    let author = verified_identity(&ctx.accounts, &socket).await;
    let tweet = post_tweet(&ctx, &author, &request.text, socket.broadcast()).await?;
    Ok(TweetReply { tweet })
}
