//! Trades: a user offers items for another user's items; the other side accepts or declines.
//! Nothing the browser says is trusted: the sender is the socket's own user (verified by the
//! `ChatServer`), and every offer and accept is checked against stored ownership in one store
//! transaction, so no item is ever created, lost or duplicated.
//! Events: `trade:offer`, `trade:accept`, `trade:decline`, `trade:cancel` (docs/EVENTS.md).

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::AppError;
use super::identity::verified_identity;
use super::text::Text;
use super::AppContext;
use crate::accounts::{Identity, Username};
use crate::hub::messages::{TradeRefusal, VerifyTrade};
use crate::socketio::{BroadcastOperator, Payload, Socket};
use crate::store::{Decision, NewTrade, Trade, TradeError};

/// Most items one offer may move (both sides together).
pub const MAX_TRADE_ITEMS: usize = 20;
/// Longest note, in characters.
pub const MAX_NOTE: usize = 200;
/// Longest idempotency key.
pub const MAX_KEY: usize = 64;
/// How often expired trades are swept and their sides told.
pub const EXPIRY_SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// An offer as a client sends it. Any `from` or owner field is ignored.
#[derive(Deserialize)]
pub struct OfferRequest {
    /// The recipient's name.
    pub to: String,
    #[serde(default)]
    /// Ids of the sender's items to give.
    pub give: Vec<i64>,
    #[serde(default)]
    /// Ids of the recipient's items asked for.
    pub want: Vec<i64>,
    #[serde(default)]
    /// A note for the recipient.
    pub note: Option<String>,
    /// Repeating an offer with the same key returns the first trade.
    #[serde(default)]
    pub key: Option<String>,
}

/// A trade id, as a client sends it.
#[derive(Deserialize)]
pub struct TradeRef {
    /// The trade's id.
    pub id: i64,
}

/// A checked offer: recipient name, item lists and note are within bounds.
pub struct Offer {
    to: Username,
    give: Vec<i64>,
    want: Vec<i64>,
    note: String,
    key: Option<String>,
}

impl Offer {
    /// Checks the request's shape; ownership is checked later, by the store.
    pub fn parse(request: OfferRequest) -> Result<Offer, AppError> {
        let to =
            Username::parse(&request.to).map_err(|_| AppError::Trade(TradeError::UnknownUser))?;
        if request.give.is_empty() && request.want.is_empty() {
            return Err(AppError::EmptyOffer);
        }
        let total = request.give.len() + request.want.len();
        if total > MAX_TRADE_ITEMS {
            return Err(AppError::BadRequest(format!(
                "an offer moves at most {MAX_TRADE_ITEMS} items"
            )));
        }
        let distinct: HashSet<i64> = request.give.iter().chain(&request.want).copied().collect();
        if distinct.len() != total {
            return Err(AppError::BadRequest("an item is listed twice".into()));
        }
        let note = match request.note.as_deref().map(str::trim) {
            None | Some("") => String::new(),
            Some(note) => Text::parse(note, "a note", MAX_NOTE)?.as_str().to_string(),
        };
        let key = match request.key {
            Some(key) if key.is_empty() || key.len() > MAX_KEY => {
                return Err(AppError::BadRequest(format!(
                    "an idempotency key has 1 to {MAX_KEY} characters"
                )))
            }
            key => key,
        };
        Ok(Offer {
            to,
            give: request.give,
            want: request.want,
            note,
            key,
        })
    }
}

/// The Socket.IO room of a signed-in user's sockets (every tab).
pub fn user_room(name: &str) -> String {
    format!("user:{}", Username::key_of(name))
}

fn count(outcome: &str) {
    crate::metrics::get()
        .trades
        .with_label_values(&[outcome])
        .inc();
}

/// Sends `event` with the trade to both of its sides.
pub fn notify(audience: &BroadcastOperator, event: &str, trade: &Trade) {
    let _ = audience
        .clone()
        .to(user_room(&trade.from))
        .to(user_room(&trade.to))
        .emit(event, Payload::json(trade));
}

/// Makes an offer on behalf of `sender`: the hub verifies who asks, the store checks ownership.
pub async fn offer(
    ctx: &AppContext,
    sender: &Identity,
    offer: Offer,
    audience: &BroadcastOperator,
) -> Result<Trade, AppError> {
    let sender_id = ctx
        .hub
        .send(VerifyTrade {
            sender: sender.clone(),
            recipient: offer.to.as_str().to_string(),
        })
        .await
        .map_err(|_| AppError::Internal)?
        .map_err(|refusal| match refusal {
            TradeRefusal::Unauthenticated => AppError::Unauthenticated,
            TradeRefusal::SelfTrade => AppError::Trade(TradeError::SelfTrade),
        })?;
    if let Some(user) = sender.user() {
        ctx.limits
            .trade_offers
            .hit(&user.name.key())
            .map_err(|_| AppError::RateLimited)?;
    }
    let expires_at = crate::store::now_ms() + ctx.trade_lifetime.as_millis() as i64;
    let (trade, created) = ctx
        .store
        .create_trade(&NewTrade {
            sender: sender_id,
            recipient: offer.to.as_str().to_string(),
            give: offer.give,
            want: offer.want,
            note: offer.note,
            idempotency_key: offer.key,
            expires_at,
        })
        .await
        .map_err(|e| {
            count("refused");
            AppError::from(e).logged()
        })?;
    if created {
        count("offered");
        tracing::info!(trade = trade.id, from = %trade.from, to = %trade.to, "trade offered");
        let _ = audience
            .clone()
            .to(user_room(&trade.to))
            .emit("trade:offer", Payload::json(&trade));
        let _ = audience
            .clone()
            .to(user_room(&trade.from))
            .emit("trade:update", Payload::json(&trade));
    }
    Ok(trade)
}

/// Accepts, declines or cancels a trade on behalf of `user`, and tells everyone concerned.
pub async fn decide(
    ctx: &AppContext,
    user: &Identity,
    id: i64,
    decision: Decision,
    audience: &BroadcastOperator,
) -> Result<Trade, AppError> {
    let user = user.user().ok_or(AppError::Unauthenticated)?;
    match ctx.store.decide(id, user.id, decision).await {
        Ok(settled) => {
            tracing::info!(trade = id, status = settled.trade.status.as_str(), by = %user.name, "trade settled");
            count(settled.trade.status.as_str());
            notify(audience, "trade:update", &settled.trade);
            for other in &settled.invalidated {
                count("invalid");
                tracing::info!(trade = other.id, "trade invalidated by another");
                notify(audience, "trade:update", other);
            }
            Ok(settled.trade)
        }
        Err(TradeError::NotActive { trade, changed_now }) => {
            // This call expired the trade or found an item gone: both sides are told.
            if changed_now {
                count(trade.status.as_str());
                notify(audience, "trade:update", &trade);
            }
            Err(AppError::Trade(TradeError::NotActive {
                trade,
                changed_now,
            }))
        }
        Err(error) => Err(AppError::from(error).logged()),
    }
}

/// The ack of a trade event: `{ok, trade}`, the trade as it stands now.
#[derive(Serialize)]
pub struct TradeReply {
    /// The trade offered or decided.
    pub trade: Trade,
}

/// `trade:offer` `{to, give, want, note?, key?}` → `{ok, trade}`.
pub async fn on_offer(
    ctx: AppContext,
    socket: Socket,
    request: OfferRequest,
) -> Result<TradeReply, AppError> {
    let request = Offer::parse(request)?;
    let sender = verified_identity(&ctx.accounts, &socket).await;
    let trade = offer(&ctx, &sender, request, &socket.namespace()).await?;
    Ok(TradeReply { trade })
}

/// `trade:accept` (recipient only), `trade:decline` (recipient only) and `trade:cancel` (sender
/// only), each `{id}` → `{ok, trade}`.
pub async fn on_decision(
    decision: Decision,
    ctx: AppContext,
    socket: Socket,
    request: TradeRef,
) -> Result<TradeReply, AppError> {
    let sender = verified_identity(&ctx.accounts, &socket).await;
    let trade = decide(&ctx, &sender, request.id, decision, &socket.namespace()).await?;
    Ok(TradeReply { trade })
}

/// Sweeps expired trades forever, telling both sides of each.
pub async fn sweep_expired(ctx: AppContext, audience: BroadcastOperator) {
    let mut interval = actix_rt::time::interval(EXPIRY_SWEEP_INTERVAL);
    loop {
        interval.tick().await;
        match ctx.store.expire_trades().await {
            Ok(expired) => {
                for trade in &expired {
                    count("expired");
                    tracing::info!(trade = trade.id, "trade expired");
                    notify(&audience, "trade:update", trade);
                }
            }
            Err(error) => tracing::error!(%error, "expiring trades failed"),
        }
    }
}
