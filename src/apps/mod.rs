//! The applications on top of the hub: each is a set of Socket.IO events (and pages and HTTP
//! endpoints in `web`). [`main_namespace`] wires them onto the main namespace.

pub mod board;
pub mod chat;
pub mod departures;
pub mod error;
pub mod feed;
pub mod handler;
pub mod identity;
pub mod presence;
pub mod text;
pub mod trades;
pub mod welcome;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::Addr;

use crate::accounts::Accounts;
use crate::hub::ChatServer;
use crate::limits::RateLimiter;
use crate::socketio::{Namespace, NamespaceBuilder, SocketId};
use crate::store::{Decision, Store};

/// The window of the apps' rate limits.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

/// How much each client may post per [`RATE_WINDOW`].
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// `chat:send` per socket.
    pub chat_messages: u32,
    /// Tweets per user.
    pub tweets: u32,
    /// `POST /messages` per client address.
    pub board_posts: u32,
    /// Trade offers per user.
    pub trade_offers: u32,
}

/// The apps' rate limiters.
pub struct Limiters {
    /// `chat:send` per socket.
    pub chat: RateLimiter<SocketId>,
    /// Tweets per user (by name key).
    pub tweets: RateLimiter<String>,
    /// Board posts per client address.
    pub board: RateLimiter<IpAddr>,
    /// Trade offers per user (by name key).
    pub trade_offers: RateLimiter<String>,
}

impl Limiters {
    /// Limiters allowing `limits` per [`RATE_WINDOW`].
    pub fn new(limits: RateLimits) -> Limiters {
        Limiters {
            chat: RateLimiter::new(limits.chat_messages, RATE_WINDOW),
            tweets: RateLimiter::new(limits.tweets, RATE_WINDOW),
            board: RateLimiter::new(limits.board_posts, RATE_WINDOW),
            trade_offers: RateLimiter::new(limits.trade_offers, RATE_WINDOW),
        }
    }
}

impl Limiters {
    /// Drops expired windows from every limiter.
    pub fn sweep(&self) {
        self.chat.sweep();
        self.tweets.sweep();
        self.board.sweep();
        self.trade_offers.sweep();
    }
}

/// Runs for the life of the server: sweeps the rate limiters every
/// [`crate::limits::SWEEP_INTERVAL`], and deletes expired login sessions at startup and every
/// [`crate::accounts::SESSION_PURGE_INTERVAL`].
pub async fn upkeep(ctx: AppContext) {
    let mut ticks = tokio::time::interval(crate::limits::SWEEP_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_purge: Option<tokio::time::Instant> = None;
    loop {
        ticks.tick().await;
        ctx.limits.sweep();
        ctx.accounts.sweep_limits();
        if last_purge.is_none_or(|at| at.elapsed() >= crate::accounts::SESSION_PURGE_INTERVAL) {
            last_purge = Some(tokio::time::Instant::now());
            match ctx.accounts.purge_expired_sessions().await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "expired login sessions deleted"),
                Err(error) => tracing::error!(%error, "cannot delete expired login sessions"),
            }
        }
    }
}

/// What the app handlers need.
#[derive(Clone)]
pub struct AppContext {
    /// Users and sessions.
    pub accounts: Accounts,
    /// The database.
    pub store: Store,
    /// The hub actor (trade checks).
    pub hub: Addr<ChatServer>,
    /// The apps' rate limiters.
    pub limits: Arc<Limiters>,
    /// How long an offer stays active.
    pub trade_lifetime: Duration,
    /// The chat room directory and its bounds.
    pub chat: Arc<chat::RoomDirectory>,
}

/// The main namespace: identity on connect, then every app's events.
pub fn main_namespace(ctx: AppContext) -> NamespaceBuilder {
    let (for_identity, for_connect, for_disconnect) = (ctx.clone(), ctx.clone(), ctx.clone());
    let namespace = Namespace::builder("/")
        .middleware(move |socket| {
            let accounts = for_identity.accounts.clone();
            async move { identity::identify(&accounts, &socket).await }
        })
        .on_connect(move |socket| {
            identity::on_connect(&for_connect.accounts, socket);
            chat::prepare(socket);
            // Every tab of a signed-in user shares a room, for trade notifications.
            if let Some(user) = identity::identity_of(socket).user() {
                socket.join(trades::user_room(user.name.as_str()));
            }
            welcome::on_connect(socket);
            if socket.recovered() {
                chat::on_recovered(&for_connect, socket);
            }
        })
        .on_disconnect(move |socket, _| {
            welcome::on_disconnect(socket);
            chat::on_disconnect(&for_disconnect, socket);
        });
    handler::AppEvents::new(namespace, ctx)
        .request("chat:rooms", chat::on_rooms)
        .request("chat:join", chat::on_join)
        .request("chat:leave", chat::on_leave)
        .request("chat:send", chat::on_send)
        .signal("chat:typing", chat::on_typing)
        .request("tweet:post", feed::on_post)
        .request("trade:offer", trades::on_offer)
        .request("trade:accept", |ctx, socket, request| {
            trades::on_decision(Decision::Accept, ctx, socket, request)
        })
        .request("trade:decline", |ctx, socket, request| {
            trades::on_decision(Decision::Decline, ctx, socket, request)
        })
        .request("trade:cancel", |ctx, socket, request| {
            trades::on_decision(Decision::Cancel, ctx, socket, request)
        })
        .build()
}
