//! The first message and who is online: every new socket on the main namespace gets `welcome`,
//! and everyone gets `online` whenever the set of online users changes (on every node).

use serde_json::json;

use super::identity::identity_of;
use super::presence::{online_room, online_users, others_in};
use crate::socketio::{BroadcastOperator, Payload, Socket};

/// The text of the welcome message.
pub const WELCOME_TEXT: &str = "thanks for joining";

/// Greets the socket and announces its user.
pub fn on_connect(socket: &Socket) {
    let identity = identity_of(socket);
    let _ = socket.emit(
        "welcome",
        Payload::json(json!({ "text": WELCOME_TEXT, "user": identity.name() })),
    );
    let room = online_room(identity.name());
    socket.join(room.clone());
    let socket = socket.clone();
    actix_rt::spawn(async move {
        let arrived = others_in(&socket, room).await == 0;
        let users = online_users(&socket.namespace()).await;
        let online = Payload::json(json!({ "users": users }));
        if arrived {
            let _ = socket.namespace().emit("online", online);
        } else {
            // The list did not change (another tab): tell this socket alone.
            let _ = socket.emit("online", online);
        }
    });
}

/// Announces the departure of the socket's user if it was their last socket (it has left its
/// rooms by now).
pub fn on_disconnect(socket: &Socket) {
    let room = online_room(identity_of(socket).name());
    let socket = socket.clone();
    actix_rt::spawn(async move {
        if others_in(&socket, room).await == 0 {
            announce_online(&socket.namespace()).await;
        }
    });
}

/// Tells every socket of the namespace (`audience`), on every node, who is online now.
pub async fn announce_online(audience: &BroadcastOperator) {
    let users = online_users(audience).await;
    let _ = audience
        .clone()
        .emit("online", Payload::json(json!({ "users": users })));
}
