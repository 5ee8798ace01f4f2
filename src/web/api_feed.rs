//! The feed's HTTP side: `GET /api/tweets` and `POST /api/tweets`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::{session, AppState};
use crate::accounts::Identity;
use crate::apps::feed::{self, TweetRequest};
use crate::store::TweetPage;

/// Default and largest page of tweets.
const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

/// `?after=ID`, `?before=ID`, `?limit=N`.
#[derive(Deserialize)]
pub struct Query {
    after: Option<i64>,
    before: Option<i64>,
    limit: Option<u32>,
}

/// `GET /api/tweets`: newest first.
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let page = match (query.after, query.before) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "give either after or before, not both".into(),
            ))
        }
        (Some(after), None) => TweetPage::After(after),
        (None, Some(before)) => TweetPage::Before(before),
        (None, None) => TweetPage::Latest,
    };
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let tweets = state.apps.store.tweets(page, limit).await?;
    Ok(HttpResponse::Ok().json(tweets))
}

/// `POST /api/tweets` `{text}`: 201 and the tweet (account required); every socket gets `newTweet`.
pub async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<TweetRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = session::current_user(&req, &state.apps.accounts)
        .await
        .ok_or(ApiError::Unauthenticated)?;
    let tweet = feed::post_tweet(
        &state.apps,
        &Identity::User(user),
        &body.text,
        state.io.main(),
    )
    .await?;
    Ok(HttpResponse::Created().json(tweet))
}
