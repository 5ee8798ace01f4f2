//! The chat room directory: which rooms are listed, who may create one, the sweep that takes idle
//! rooms off the list, and the coalesced `chat:rooms` push.
//!
//! A room is listed while it is `lobby`, has members (on any node), was created less than
//! [`ChatLimits::idle`] ago, or was last seen with members on this node less than that ago.
//! Joining a room that is not listed creates it: that is what the creation rate and the cap on
//! listed rooms bound. Rooms off the list keep their history; those without any message are
//! deleted by the sweep.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use super::super::error::AppError;
use super::super::presence::{member_counts, members};
use super::super::{AppContext, RATE_WINDOW};
use crate::limits::RateLimiter;
use crate::socketio::{BroadcastOperator, Payload, Socket, SocketId};
use crate::store::{now_ms, Store};

/// The room that always exists and is always listed.
pub const LOBBY: &str = "lobby";
/// Default of [`ChatLimits::rooms_per_user`].
pub const ROOMS_PER_USER: usize = 20;
/// Default of [`ChatLimits::new_rooms_per_minute`].
pub const NEW_ROOMS_PER_MINUTE: u32 = 10;
/// Default of [`ChatLimits::max_rooms`].
pub const MAX_ROOMS: usize = 1000;
/// Default of [`ChatLimits::idle`]: ten minutes.
pub const ROOM_IDLE: Duration = Duration::from_secs(600);
/// How long a `chat:rooms` push waits: every change within it goes out in that one push, so a
/// storm of joins costs at most a few pushes a second, not one per join and socket.
pub const PUSH_DELAY: Duration = Duration::from_millis(300);
/// Longest pause between two sweeps of idle rooms (a quarter of the idle time when that is less).
pub const MAX_SWEEP_INTERVAL: Duration = Duration::from_secs(30);
/// Shortest pause between two sweeps, however short the idle time.
pub const MIN_SWEEP_INTERVAL: Duration = Duration::from_millis(100);
/// `chat:typing` signals a socket may send per [`TYPING_WINDOW`] (the chat page sends one every
/// 2 s at most, so 3 per window); the rest are dropped.
pub const TYPING_PER_WINDOW: u32 = 5;
/// The window of [`TYPING_PER_WINDOW`].
pub const TYPING_WINDOW: Duration = Duration::from_secs(5);

/// The bounds on chat rooms.
#[derive(Debug, Clone, Copy)]
pub struct ChatLimits {
    /// Rooms a socket may be in at once; a signed-in user too, over all their tabs.
    pub rooms_per_user: usize,
    /// Rooms a signed-in user, or a guest's address, may create per minute.
    pub new_rooms_per_minute: u32,
    /// Most rooms listed at once, `lobby` included; creating more is refused.
    pub max_rooms: usize,
    /// How long an empty room stays listed after it was created or last had members.
    pub idle: Duration,
}

impl Default for ChatLimits {
    fn default() -> Self {
        ChatLimits {
            rooms_per_user: ROOMS_PER_USER,
            new_rooms_per_minute: NEW_ROOMS_PER_MINUTE,
            max_rooms: MAX_ROOMS,
            idle: ROOM_IDLE,
        }
    }
}

/// A listed room, as `chat:rooms` carries it.
#[derive(Debug, Clone, Serialize)]
pub struct RoomInfo {
    /// The room's name.
    pub name: String,
    /// How many sockets are in it, over the cluster.
    pub members: usize,
}

/// A stored room, its members and whether it is listed.
struct Surveyed {
    name: String,
    members: usize,
    listed: bool,
    has_messages: bool,
}

/// The directory's state, shared by every socket of this node.
pub struct RoomDirectory {
    limits: ChatLimits,
    /// Room creations per signed-in user or guest address.
    creations: RateLimiter<String>,
    /// `chat:typing` per socket.
    typing: RateLimiter<SocketId>,
    /// When this node last saw each room with members.
    occupied: Mutex<HashMap<String, Instant>>,
    /// A `chat:rooms` push is scheduled.
    push_pending: AtomicBool,
}

impl RoomDirectory {
    /// A directory with these bounds.
    pub fn new(limits: ChatLimits) -> RoomDirectory {
        RoomDirectory {
            limits,
            creations: RateLimiter::new(limits.new_rooms_per_minute, RATE_WINDOW),
            typing: RateLimiter::new(TYPING_PER_WINDOW, TYPING_WINDOW),
            occupied: Mutex::new(HashMap::new()),
            push_pending: AtomicBool::new(false),
        }
    }

    /// The bounds.
    pub fn limits(&self) -> &ChatLimits {
        &self.limits
    }

    /// Counts one `chat:typing` of the socket; refused past [`TYPING_PER_WINDOW`].
    pub fn typing_allowed(&self, socket: &SocketId) -> Result<(), AppError> {
        self.typing.hit(socket).map_err(|_| AppError::RateLimited)
    }

    fn occupied(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        // The map holds plain timestamps.
        crate::sync::lock(&self.occupied)
    }

    /// Notes that `room` had members until now (its last local member is leaving).
    pub fn touch(&self, room: &str) {
        self.occupied().insert(room.to_string(), Instant::now());
    }

    /// Every stored room with its member count and whether it is listed.
    async fn survey(
        &self,
        store: &Store,
        audience: &BroadcastOperator,
    ) -> Result<Vec<Surveyed>, AppError> {
        let stored = store.chat_rooms().await?;
        let counts = member_counts(audience).await;
        let (now, wall) = (Instant::now(), now_ms());
        let idle_ms = i64::try_from(self.limits.idle.as_millis()).unwrap_or(i64::MAX);
        let mut occupied = self.occupied();
        for room in counts.keys() {
            occupied.insert(room.clone(), now);
        }
        Ok(stored
            .into_iter()
            .map(|room| {
                let members = counts.get(&room.name).copied().unwrap_or(0);
                let recently_occupied = occupied
                    .get(&room.name)
                    .is_some_and(|at| now.duration_since(*at) < self.limits.idle);
                let listed = room.name == LOBBY
                    || members > 0
                    || wall.saturating_sub(room.created_at) < idle_ms
                    || recently_occupied;
                Surveyed {
                    name: room.name,
                    members,
                    listed,
                    has_messages: room.has_messages,
                }
            })
            .collect())
    }

    /// The listed rooms with their member counts, in creation order.
    pub async fn list(
        &self,
        store: &Store,
        audience: &BroadcastOperator,
    ) -> Result<Vec<RoomInfo>, AppError> {
        Ok(self
            .survey(store, audience)
            .await?
            .into_iter()
            .filter(|room| room.listed)
            .map(|room| RoomInfo {
                name: room.name,
                members: room.members,
            })
            .collect())
    }

    /// Whether `room` is listed now.
    async fn is_listed(
        &self,
        store: &Store,
        socket: &Socket,
        room: &str,
    ) -> Result<bool, AppError> {
        if room == LOBBY {
            return Ok(true);
        }
        let recently_occupied = self
            .occupied()
            .get(room)
            .is_some_and(|at| at.elapsed() < self.limits.idle);
        if recently_occupied {
            return Ok(true);
        }
        let Some(created_at) = store.room_created_at(room).await? else {
            return Ok(false);
        };
        let idle_ms = i64::try_from(self.limits.idle.as_millis()).unwrap_or(i64::MAX);
        if now_ms().saturating_sub(created_at) < idle_ms {
            return Ok(true);
        }
        Ok(!members(socket, room).await.is_empty())
    }

    /// Lets the socket into `room`: a listed room is simply joined; one that is not listed is
    /// created (or brought back, history and all) if its creator is under the creation rate and
    /// fewer than [`ChatLimits::max_rooms`] rooms are listed.
    pub async fn admit(&self, store: &Store, socket: &Socket, room: &str) -> Result<(), AppError> {
        if self.is_listed(store, socket, room).await? {
            // `lobby` is stored from the start; another listed room could have been deleted by
            // a node that saw it idle a moment before, and its messages need it stored.
            if room != LOBBY {
                store.ensure_room(room).await?;
            }
            return Ok(());
        }
        let creator = creator_key(socket);
        if self.creations.hit(&creator).is_err() {
            tracing::warn!(%creator, room, "chat room creation refused: rate limited");
            return Err(AppError::RateLimited);
        }
        let listed = self.list(store, &socket.namespace()).await?.len();
        if listed >= self.limits.max_rooms {
            tracing::warn!(%creator, room, listed, "chat room creation refused: too many rooms");
            return Err(AppError::RoomsFull);
        }
        store.create_room(room).await?;
        tracing::info!(%creator, room, "chat room created");
        Ok(())
    }

    /// How long to wait between two sweeps.
    fn sweep_interval(&self) -> Duration {
        (self.limits.idle / 4).clamp(MIN_SWEEP_INTERVAL, MAX_SWEEP_INTERVAL)
    }

    /// Forgets rooms not seen with members for the idle time, deletes the stored rooms that are
    /// off the list and never had a message; answers the names of the listed rooms.
    async fn sweep(
        &self,
        store: &Store,
        audience: &BroadcastOperator,
    ) -> Result<Vec<String>, AppError> {
        let rooms = self.survey(store, audience).await?;
        self.occupied()
            .retain(|_, at| at.elapsed() < self.limits.idle);
        let idle_ms = i64::try_from(self.limits.idle.as_millis()).unwrap_or(i64::MAX);
        let before = now_ms().saturating_sub(idle_ms);
        let mut deleted = 0usize;
        for room in rooms.iter().filter(|r| !r.listed && !r.has_messages) {
            if store.delete_idle_room(&room.name, before).await? {
                deleted += 1;
            }
        }
        if deleted > 0 {
            tracing::info!(deleted, "idle chat rooms deleted");
        }
        Ok(rooms
            .into_iter()
            .filter(|r| r.listed)
            .map(|r| r.name)
            .collect())
    }
}

/// Who a room creation is counted against: a signed-in user, else the guest's address (else,
/// with no address known, the socket).
fn creator_key(socket: &Socket) -> String {
    let identity = super::super::identity::identity_of(socket);
    if let Some(user) = identity.user() {
        return format!("user:{}", user.name.as_str());
    }
    match socket.handshake().peer {
        Some(peer) => format!("address:{}", peer.ip()),
        None => format!("socket:{}", socket.id()),
    }
}

/// Asks for a `chat:rooms` push to every socket of `audience`: the requests made within
/// [`PUSH_DELAY`] of the first share one push, which carries the list as it is when it goes.
pub fn request_push(ctx: &AppContext, audience: BroadcastOperator) {
    if ctx.chat.push_pending.swap(true, Ordering::AcqRel) {
        return;
    }
    let ctx = ctx.clone();
    actix_rt::spawn(async move {
        actix_rt::time::sleep(PUSH_DELAY).await;
        // Cleared before reading the list: a change from now on asks for a push of its own.
        ctx.chat.push_pending.store(false, Ordering::Release);
        if let Ok(rooms) = ctx.chat.list(&ctx.store, &audience).await {
            let _ = audience.emit("chat:rooms", Payload::json(json!({ "rooms": rooms })));
        }
    });
}

/// Sweeps idle rooms every little while, forever; pushes the list when a room left it.
pub async fn sweep_idle_rooms(ctx: AppContext, audience: BroadcastOperator) {
    let mut interval = actix_rt::time::interval(ctx.chat.sweep_interval());
    let mut previous: Option<Vec<String>> = None;
    loop {
        interval.tick().await;
        // A store error was logged where it became an AppError; the next sweep tries again.
        if let Ok(listed) = ctx.chat.sweep(&ctx.store, &audience).await {
            if previous.as_ref().is_some_and(|before| *before != listed) {
                request_push(&ctx, audience.clone());
            }
            previous = Some(listed);
        }
    }
}
