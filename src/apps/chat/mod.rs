//! Group chat: rooms by name (`lobby` always exists), history, presence, typing, messages.
//! Events: `chat:rooms`, `chat:join`, `chat:leave`, `chat:send`, `chat:typing` (docs/EVENTS.md).
//! The bounds on rooms (how many, how fast, how long) are in [`rooms`].

mod joined;
pub mod rooms;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::AppError;
use super::identity::identity_of;
use super::presence::{member_room, members, others_in, rooms_of};
use super::text::{RoomName, Text};
use super::AppContext;
use crate::socketio::{BroadcastOperator, Payload, Socket};
use crate::store::ChatMessage;
pub use joined::prepare;
use joined::{joined_rooms, Reserved};
pub use rooms::{sweep_idle_rooms, ChatLimits, RoomDirectory, RoomInfo};

/// Messages a join sends back as history.
pub const HISTORY_LENGTH: u32 = 50;
/// Most messages a join with `after` (a reconnecting client catching up) sends back.
pub const CATCH_UP_LENGTH: u32 = 500;
/// Longest chat message, in characters.
pub const MAX_MESSAGE: usize = 2000;

/// A request about one room: `chat:leave`, `chat:typing`.
#[derive(Deserialize)]
pub struct RoomRequest {
    /// The room's name.
    pub room: String,
}

/// `chat:join`'s request.
#[derive(Deserialize)]
pub struct JoinRequest {
    /// The room's name.
    pub room: String,
    /// The last message id the client has: the history then holds what came after it.
    #[serde(default)]
    pub after: Option<i64>,
}

/// `chat:send`'s request.
#[derive(Deserialize)]
pub struct SendRequest {
    /// The room's name.
    pub room: String,
    /// The message.
    pub text: String,
}

/// `chat:join`'s ack: `{ok, room, members, history}`.
#[derive(Serialize)]
pub struct Joined {
    room: String,
    members: Vec<String>,
    history: Vec<ChatMessage>,
}

/// `chat:rooms`'s ack: `{ok, rooms}`.
#[derive(Serialize)]
pub struct RoomList {
    rooms: Vec<RoomInfo>,
}

/// `chat:leave`'s ack: `{ok, room}`.
#[derive(Serialize)]
pub struct Left {
    room: String,
}

/// `chat:send`'s ack: `{ok, message}`.
#[derive(Serialize)]
pub struct Sent {
    message: ChatMessage,
}

/// `chat:rooms`: every listed room with its member count.
pub async fn on_rooms(
    ctx: AppContext,
    socket: Socket,
    _: IgnoredAny,
) -> Result<RoomList, AppError> {
    let rooms = ctx.chat.list(&ctx.store, &socket.namespace()).await?;
    Ok(RoomList { rooms })
}

/// `chat:join` `{room, after?}`: joins, answers members and history, then tells the room (after
/// the ack, so the joiner hears of later arrivals only once it knows the members).
pub async fn on_join(
    ctx: AppContext,
    socket: Socket,
    request: JoinRequest,
) -> Result<Joined, AppError> {
    let (joined, arrived) = join(&ctx, &socket, request).await?;
    if arrived {
        // A task of its own runs only once this one has finished, and this one sends the ack as
        // soon as the handler returns: the room hears of the arrival after the joiner's ack.
        let room = joined.room.clone();
        actix_rt::spawn(async move { announce(&ctx, &socket, &room, true) });
    }
    Ok(joined)
}

/// Joins the socket to the room; answers what the joiner is sent, and whether its user just
/// arrived there (no other socket of theirs was in the room, on any node).
async fn join(
    ctx: &AppContext,
    socket: &Socket,
    request: JoinRequest,
) -> Result<(Joined, bool), AppError> {
    let room = RoomName::parse(&request.room)?;
    let identity = identity_of(socket);
    let user = identity.name().to_string();
    let cap = ctx.chat.limits().rooms_per_user;
    let reservation = match joined_rooms(socket).reserve(room.as_str(), cap) {
        Reserved::Already => None,
        Reserved::Full => {
            tracing::debug!(socket = %socket.id(), room = room.as_str(), "chat:join refused: socket in too many rooms");
            return Err(AppError::TooManyRooms);
        }
        Reserved::New(reservation) => {
            if identity.user().is_some() {
                let mut theirs = rooms_of(socket, &user).await;
                theirs.remove(room.as_str());
                if theirs.len() >= cap {
                    tracing::info!(
                        user,
                        room = room.as_str(),
                        "chat:join refused: user in too many rooms"
                    );
                    return Err(AppError::TooManyRooms);
                }
            }
            ctx.chat.admit(&ctx.store, socket, room.as_str()).await?;
            Some(reservation)
        }
    };
    // Join before reading the history: a message sent in between arrives live (and may also be in
    // the history; clients drop duplicates by id) instead of being missed.
    let presence = member_room(room.as_str(), &user);
    socket.join(room.socket_room());
    socket.join(presence.clone());
    let newly = reservation.is_some();
    if let Some(reservation) = reservation {
        reservation.keep();
    }
    let arrived = newly && others_in(socket, presence).await == 0;
    let members = members(socket, room.as_str()).await;
    let history = match request.after {
        Some(after) => {
            ctx.store
                .chat_history(room.as_str(), after, CATCH_UP_LENGTH)
                .await?
        }
        None => {
            ctx.store
                .chat_history(room.as_str(), 0, HISTORY_LENGTH)
                .await?
        }
    };
    let joined = Joined {
        room: room.as_str().to_string(),
        members,
        history,
    };
    Ok((joined, arrived))
}

/// `chat:leave` `{room}` → `{ok, room}`.
pub async fn on_leave(
    ctx: AppContext,
    socket: Socket,
    request: RoomRequest,
) -> Result<Left, AppError> {
    let room = RoomName::parse(&request.room)?;
    if !joined_rooms(&socket).remove(room.as_str()) {
        return Err(AppError::NotInRoom);
    }
    let user = identity_of(&socket).name().to_string();
    let presence = member_room(room.as_str(), &user);
    socket.leave(room.socket_room());
    socket.leave(presence.clone());
    ctx.chat.touch(room.as_str());
    if others_in(&socket, presence).await == 0 {
        announce(&ctx, &socket, room.as_str(), false);
    }
    Ok(Left {
        room: room.as_str().to_string(),
    })
}

/// `chat:send` `{room, text}`: stores the message, acks it (`{ok, message}`), sends it to the
/// room's other members.
pub async fn on_send(
    ctx: AppContext,
    socket: Socket,
    request: SendRequest,
) -> Result<Sent, AppError> {
    let room = RoomName::parse(&request.room)?;
    let text = Text::parse(&request.text, "a message", MAX_MESSAGE)?;
    ctx.limits
        .chat
        .hit(socket.id())
        .map_err(|_| AppError::RateLimited)?;
    if !joined_rooms(&socket).contains(room.as_str()) {
        return Err(AppError::NotInRoom);
    }
    let user = identity_of(&socket);
    let message = ctx
        .store
        .add_chat_message(room.as_str(), user.name(), text.as_str())
        .await?;
    let _ = socket
        .to(room.socket_room())
        .emit("chat:message", Payload::json(&message));
    Ok(Sent { message })
}

/// `chat:typing` `{room}`: relayed to the room's other members, never stored. Only a member of
/// the room may signal, at most [`rooms::TYPING_PER_WINDOW`] times per [`rooms::TYPING_WINDOW`];
/// other signals are dropped (and refused in the ack, for a client that asks for one).
pub fn on_typing(ctx: &AppContext, socket: &Socket, request: RoomRequest) -> Result<(), AppError> {
    let room = RoomName::parse(&request.room)?;
    if !joined_rooms(socket).contains(room.as_str()) {
        return Err(AppError::NotInRoom);
    }
    ctx.chat.typing_allowed(socket.id())?;
    let user = identity_of(socket);
    let _ = socket.to(room.socket_room()).emit(
        "chat:typing",
        Payload::json(json!({ "room": room.as_str(), "user": user.name() })),
    );
    Ok(())
}

/// A socket that recovered its state after a dropped connection is present again in the chat
/// rooms it had joined (its Socket.IO rooms, presence rooms included, came back with it; its
/// departure was announced when the connection dropped).
pub fn on_recovered(ctx: &AppContext, socket: &Socket) {
    announce_where_alone(ctx, socket, true);
}

/// A socket went away (it has left its Socket.IO rooms by now): the rooms it had joined hear of
/// its user leaving if that was the user's last socket there, on any node.
pub fn on_disconnect(ctx: &AppContext, socket: &Socket) {
    announce_where_alone(ctx, socket, false);
}

/// Tells each chat room the socket joined in which its user has no other socket (on any node)
/// that the user arrived or left, then everyone the new member counts. Sent as from this socket,
/// so a recovering client is not replayed its own departure.
fn announce_where_alone(ctx: &AppContext, socket: &Socket, online: bool) {
    let rooms = joined_rooms(socket).all();
    if rooms.is_empty() {
        return;
    }
    let (ctx, socket) = (ctx.clone(), socket.clone());
    actix_rt::spawn(async move {
        let user = identity_of(&socket).name().to_string();
        let mut changed = false;
        for room in rooms {
            ctx.chat.touch(&room);
            if others_in(&socket, member_room(&room, &user)).await == 0 {
                tell_presence(&socket, &room, &user, online);
                changed = true;
            }
        }
        if changed {
            rooms::request_push(&ctx, socket.namespace());
        }
    });
}

/// Tells a chat room that the socket's user arrived or left, and everyone the new member counts.
fn announce(ctx: &AppContext, socket: &Socket, room: &str, online: bool) {
    tell_presence(socket, room, identity_of(socket).name(), online);
    rooms::request_push(ctx, socket.namespace());
}

fn tell_presence(socket: &Socket, room: &str, user: &str, online: bool) {
    let _ = socket
        .to(format!("chat:{room}"))
        .emit("chat:presence", presence_payload(room, user, online));
}

/// Tells chat room `room` of the namespace (`audience`), on every node, that `user` left: the
/// departure of a user whose node died without a word (`apps::departures`). The caller pushes
/// the new member counts ([`rooms::request_push`]) once for all its departures.
pub fn tell_departure(ctx: &AppContext, audience: &BroadcastOperator, room: &str, user: &str) {
    ctx.chat.touch(room);
    let _ = audience
        .clone()
        .to(format!("chat:{room}"))
        .emit("chat:presence", presence_payload(room, user, false));
}

fn presence_payload(room: &str, user: &str, online: bool) -> Payload {
    Payload::json(json!({ "room": room, "user": user, "online": online }))
}
