//! Group chat: rooms by name (`lobby` always exists), history, presence, typing, messages.
//! Events: `chat:rooms`, `chat:join`, `chat:leave`, `chat:send`, `chat:typing` (docs/EVENTS.md).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::{parse, reply, AppError};
use super::identity::identity_of;
use super::presence::{member_counts, member_room, members, others_in};
use super::text::{RoomName, Text};
use super::AppContext;
use crate::socketio::{AckSender, Payload, Socket};
use crate::store::ChatMessage;

/// Messages a join sends back as history.
pub const HISTORY_LENGTH: u32 = 50;
/// Most messages a join with `after` (a reconnecting client catching up) sends back.
pub const CATCH_UP_LENGTH: u32 = 500;
/// Longest chat message, in characters.
pub const MAX_MESSAGE: usize = 2000;

#[derive(Deserialize)]
struct RoomRequest {
    room: String,
}

#[derive(Deserialize)]
struct JoinRequest {
    room: String,
    /// The last message id the client has: the history then holds what came after it.
    #[serde(default)]
    after: Option<i64>,
}

#[derive(Deserialize)]
struct SendRequest {
    room: String,
    text: String,
}

#[derive(Serialize)]
struct RoomInfo {
    name: String,
    members: usize,
}

#[derive(Serialize)]
struct Joined {
    room: String,
    members: Vec<String>,
    history: Vec<ChatMessage>,
}

/// `chat:rooms`: every room with its member count.
pub fn on_rooms(ctx: &AppContext, socket: &Socket, _: Payload, ack: Option<AckSender>) {
    let (ctx, socket) = (ctx.clone(), socket.clone());
    actix_rt::spawn(async move {
        reply(
            ack,
            room_list(&ctx, &socket)
                .await
                .map(|rooms| json!({ "rooms": rooms })),
        );
    });
}

/// `chat:join` `{room}`: joins, answers members and history, then tells the room (after the ack,
/// so the joiner hears of later arrivals only once it knows the members).
pub fn on_join(ctx: &AppContext, socket: &Socket, payload: Payload, ack: Option<AckSender>) {
    let (ctx, socket) = (ctx.clone(), socket.clone());
    actix_rt::spawn(async move {
        match join(&ctx, &socket, &payload).await {
            Ok((joined, arrived)) => {
                let room = joined.room.clone();
                reply(ack, Ok(joined));
                if arrived {
                    announce(&ctx, &socket, &room, true).await;
                }
            }
            Err(error) => reply::<Joined>(ack, Err(error)),
        }
    });
}

/// Joins the socket to the room; answers what the joiner is sent, and whether its user just
/// arrived there (no other socket of theirs was in the room, on any node).
async fn join(
    ctx: &AppContext,
    socket: &Socket,
    payload: &Payload,
) -> Result<(Joined, bool), AppError> {
    let request: JoinRequest = parse(payload)?;
    let room = RoomName::parse(&request.room)?;
    let user = identity_of(socket).name().to_string();
    ctx.store.ensure_room(room.as_str()).await?;
    // Join before reading the history: a message sent in between arrives live (and may also be in
    // the history; clients drop duplicates by id) instead of being missed.
    let presence = member_room(room.as_str(), &user);
    socket.join(room.socket_room());
    socket.join(presence.clone());
    let newly = joined_rooms(socket).insert(room.as_str().to_string());
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

/// `chat:leave` `{room}`.
pub fn on_leave(ctx: &AppContext, socket: &Socket, payload: Payload, ack: Option<AckSender>) {
    let (ctx, socket) = (ctx.clone(), socket.clone());
    actix_rt::spawn(async move {
        let result = async {
            let request: RoomRequest = parse(&payload)?;
            let room = RoomName::parse(&request.room)?;
            if !joined_rooms(&socket).remove(room.as_str()) {
                return Err(AppError::NotInRoom);
            }
            let user = identity_of(&socket).name().to_string();
            let presence = member_room(room.as_str(), &user);
            socket.leave(room.socket_room());
            socket.leave(presence.clone());
            if others_in(&socket, presence).await == 0 {
                announce(&ctx, &socket, room.as_str(), false).await;
            }
            Ok(json!({ "room": room.as_str() }))
        }
        .await;
        reply(ack, result);
    });
}

/// `chat:send` `{room, text}`: stores the message, acks it, sends it to the room's other members.
pub fn on_send(ctx: &AppContext, socket: &Socket, payload: Payload, ack: Option<AckSender>) {
    let (ctx, socket) = (ctx.clone(), socket.clone());
    actix_rt::spawn(async move {
        let result = send(&ctx, &socket, &payload).await;
        reply(ack, result.map(|message| json!({ "message": message })));
    });
}

async fn send(
    ctx: &AppContext,
    socket: &Socket,
    payload: &Payload,
) -> Result<ChatMessage, AppError> {
    let request: SendRequest = parse(payload)?;
    let room = RoomName::parse(&request.room)?;
    let text = Text::parse(&request.text, "a message", MAX_MESSAGE)?;
    ctx.limits
        .chat
        .hit(socket.id())
        .map_err(|_| AppError::RateLimited)?;
    if !joined_rooms(socket).contains(room.as_str()) {
        return Err(AppError::NotInRoom);
    }
    let user = identity_of(socket);
    let message = ctx
        .store
        .add_chat_message(room.as_str(), user.name(), text.as_str())
        .await?;
    let _ = socket
        .to(room.socket_room())
        .emit("chat:message", Payload::json(&message));
    Ok(message)
}

/// `chat:typing` `{room}`: relayed to the room's other members, never stored.
pub fn on_typing(_: &AppContext, socket: &Socket, payload: Payload, _: Option<AckSender>) {
    let Ok(request) = parse::<RoomRequest>(&payload) else {
        return;
    };
    let Ok(room) = RoomName::parse(&request.room) else {
        return;
    };
    let user = identity_of(socket);
    let _ = socket.to(room.socket_room()).emit(
        "chat:typing",
        Payload::json(json!({ "room": room.as_str(), "user": user.name() })),
    );
}

/// The chat rooms a socket joined, kept on the socket so that a socket recovered after a dropped
/// connection (which keeps its extensions) can be present in them again.
#[derive(Clone, Default)]
struct JoinedRooms(Arc<Mutex<HashSet<String>>>);

/// Gives a new socket its (empty) set of joined rooms, before any event can race to create it.
pub fn prepare(socket: &Socket) {
    if socket.extension::<JoinedRooms>().is_none() {
        socket.insert_extension(JoinedRooms::default());
    }
}

fn joined_rooms(socket: &Socket) -> JoinedGuard {
    let rooms = socket.extension::<JoinedRooms>().unwrap_or_else(|| {
        let rooms = JoinedRooms::default();
        socket.insert_extension(rooms.clone());
        rooms
    });
    JoinedGuard(rooms.0)
}

/// Access to a socket's joined chat rooms.
struct JoinedGuard(Arc<Mutex<HashSet<String>>>);

impl JoinedGuard {
    /// Adds the room; false if the socket had joined it already.
    fn insert(&self, room: String) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(room)
    }

    /// Removes the room; false if the socket had not joined it.
    fn remove(&self, room: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(room)
    }

    fn contains(&self, room: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(room)
    }

    fn all(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
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
            if others_in(&socket, member_room(&room, &user)).await == 0 {
                tell_presence(&socket, &room, &user, online);
                changed = true;
            }
        }
        if changed {
            push_room_list(&ctx, &socket).await;
        }
    });
}

/// Tells a chat room that the socket's user arrived or left, and everyone the new member counts.
async fn announce(ctx: &AppContext, socket: &Socket, room: &str, online: bool) {
    tell_presence(socket, room, identity_of(socket).name(), online);
    push_room_list(ctx, socket).await;
}

fn tell_presence(socket: &Socket, room: &str, user: &str, online: bool) {
    let _ = socket.to(format!("chat:{room}")).emit(
        "chat:presence",
        Payload::json(json!({ "room": room, "user": user, "online": online })),
    );
}

/// Tells every socket the rooms and their member counts.
async fn push_room_list(ctx: &AppContext, socket: &Socket) {
    if let Ok(rooms) = room_list(ctx, socket).await {
        let _ = socket
            .namespace()
            .emit("chat:rooms", Payload::json(json!({ "rooms": rooms })));
    }
}

async fn room_list(ctx: &AppContext, socket: &Socket) -> Result<Vec<RoomInfo>, AppError> {
    let names = ctx.store.rooms().await?;
    let counts = member_counts(socket).await;
    Ok(names
        .into_iter()
        .map(|name| RoomInfo {
            members: counts.get(&name).copied().unwrap_or(0),
            name,
        })
        .collect())
}
