//! Socket identity: every socket's user is fixed when it connects, from the handshake's session
//! cookie or from `auth: {token}` in its CONNECT packet; sockets without an account are guests.
//! Handlers read it with [`identity_of`] and never from event payloads.

use serde_json::json;

use crate::accounts::{Accounts, Identity, SessionToken};
use crate::socketio::{ConnectError, Socket};
use crate::web::session::token_from_headers;

/// Resolves and stores the socket's identity. An explicit but invalid `auth.token` is refused;
/// a stale cookie just makes a guest.
pub async fn identify(accounts: &Accounts, socket: &Socket) -> Result<(), ConnectError> {
    let identity = match socket.auth().get("token") {
        Some(raw) => {
            let token = raw.as_str().and_then(SessionToken::from_client);
            let user = match token {
                Some(token) => accounts.user_for_token(&token).await.ok().flatten(),
                None => None,
            };
            match user {
                Some(user) => Identity::User(user),
                None => {
                    return Err(ConnectError::new("invalid or expired token")
                        .with_data(json!({ "code": "unauthenticated" })))
                }
            }
        }
        None => match token_from_headers(&socket.handshake().headers) {
            Some(token) => match accounts.user_for_token(&token).await {
                Ok(Some(user)) => Identity::User(user),
                _ => Identity::new_guest(),
            },
            None => Identity::new_guest(),
        },
    };
    socket.engine().set_label(identity.name());
    socket.insert_extension(identity);
    Ok(())
}

/// The identity fixed at connect time (a guest if, impossibly, none was stored).
pub fn identity_of(socket: &Socket) -> Identity {
    socket
        .extension::<Identity>()
        .unwrap_or_else(Identity::new_guest)
}
