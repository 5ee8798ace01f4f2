//! The first message and who is online: every new socket on the main namespace gets `welcome`,
//! and everyone gets `online` whenever the set of online users changes.

use actix::Addr;
use serde_json::json;

use super::identity::identity_of;
use crate::hub::messages::{GoOffline, GoOnline, ListOnline};
use crate::hub::ChatServer;
use crate::socketio::{Payload, Socket};

/// The text of the welcome message.
pub const WELCOME_TEXT: &str = "thanks for joining";

/// Greets the socket and announces its user.
pub fn on_connect(hub: &Addr<ChatServer>, socket: &Socket) {
    let identity = identity_of(socket);
    let _ = socket.emit(
        "welcome",
        Payload::json(json!({ "text": WELCOME_TEXT, "user": identity.name() })),
    );
    let hub = hub.clone();
    let socket = socket.clone();
    actix_rt::spawn(async move {
        let arrival = GoOnline {
            id: socket.id().clone(),
            name: identity.name().to_string(),
        };
        match hub.send(arrival).await {
            Ok(Some(users)) => announce(&socket, users),
            // The list did not change (another tab): tell this socket alone.
            Ok(None) => {
                if let Ok(users) = hub.send(ListOnline).await {
                    let _ = socket.emit("online", Payload::json(json!({ "users": users })));
                }
            }
            Err(error) => tracing::error!(%error, "hub unavailable"),
        }
    });
}

/// Announces the departure of the socket's user if it was their last socket.
pub fn on_disconnect(hub: &Addr<ChatServer>, socket: &Socket) {
    let hub = hub.clone();
    let socket = socket.clone();
    actix_rt::spawn(async move {
        if let Ok(Some(users)) = hub
            .send(GoOffline {
                id: socket.id().clone(),
            })
            .await
        {
            announce(&socket, users);
        }
    });
}

fn announce(socket: &Socket, users: Vec<String>) {
    let _ = socket
        .namespace()
        .emit("online", Payload::json(json!({ "users": users })));
}
