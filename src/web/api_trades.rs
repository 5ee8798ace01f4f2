//! Items and trades over HTTP, for scripts: the same rules as the socket events.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::{session, AppState};
use crate::accounts::{Identity, User};
use crate::apps::error::AppError;
use crate::apps::trades::{self, Offer, OfferRequest};
use crate::store::{Decision, TradeError, TradeStatus};

async fn signed_in(req: &HttpRequest, state: &AppState) -> Result<User, ApiError> {
    session::current_user(req, &state.apps.accounts)
        .await
        .ok_or(ApiError::Unauthenticated)
}

/// `GET /api/inventory`: the signed-in user's items.
pub async fn own_inventory(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let user = signed_in(&req, &state).await?;
    inventory_of(&state, user.name.as_str()).await
}

/// `GET /api/users/{name}/inventory`: anyone's items, to choose what to ask for.
pub async fn user_inventory(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    inventory_of(&state, &name).await
}

async fn inventory_of(state: &AppState, name: &str) -> Result<HttpResponse, ApiError> {
    let (user, items) = state
        .apps
        .store
        .inventory(name)
        .await
        .map_err(AppError::from)?
        .ok_or(AppError::Trade(TradeError::UnknownUser))?;
    Ok(HttpResponse::Ok().json(json!({ "user": user, "items": items })))
}

/// `POST /api/trades` with an offer: 201 and the trade (200 and the first trade when an
/// idempotency key repeats).
pub async fn offer(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<OfferRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = signed_in(&req, &state).await?;
    let offer = Offer::parse(body.into_inner())?;
    let trade = trades::offer(&state.apps, &Identity::User(user), offer, &state.io.main()).await?;
    Ok(HttpResponse::Created().json(json!({ "trade": trade })))
}

/// `POST /api/trades/{id}/{accept|decline|cancel}`.
pub async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    let user = signed_in(&req, &state).await?;
    let (id, action) = path.into_inner();
    let decision = match action.as_str() {
        "accept" => Decision::Accept,
        "decline" => Decision::Decline,
        "cancel" => Decision::Cancel,
        _ => return Err(ApiError::NotFound("no such trade action")),
    };
    let trade = trades::decide(
        &state.apps,
        &Identity::User(user),
        id,
        decision,
        &state.io.main(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "trade": trade })))
}

/// `?status=active`.
#[derive(Deserialize)]
pub struct TradeFilter {
    status: Option<String>,
}

/// `GET /api/trades[?status=S]`: the signed-in user's trades, incoming and outgoing, newest first.
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    filter: web::Query<TradeFilter>,
) -> Result<HttpResponse, ApiError> {
    let user = signed_in(&req, &state).await?;
    let status = match filter.status.as_deref() {
        None => None,
        Some(name) => Some(
            TradeStatus::parse(name)
                .ok_or_else(|| ApiError::BadRequest(format!("unknown status {name:?}")))?,
        ),
    };
    let trades = state
        .apps
        .store
        .trades_of(user.id, status)
        .await
        .map_err(AppError::from)?;
    Ok(HttpResponse::Ok().json(json!({ "trades": trades })))
}
