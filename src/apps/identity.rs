//! Socket identity: every socket's user is fixed when it connects, from the handshake's session
//! cookie or from `auth: {token}` in its CONNECT packet; sockets without an account are guests.
//! Handlers read it with [`identity_of`] and never from event payloads; privileged actions
//! (posting, trading) use [`verified_identity`], which re-checks the login session.
//!
//! A signed-in socket joins its session's room ([`SessionToken::room`]), so that logging out
//! disconnects it on whichever node it is.

use serde_json::json;

use crate::accounts::{session_room, token_from_handshake, Accounts, Identity, SessionToken};
use crate::socketio::{ConnectError, Socket};

/// Resolves and stores the socket's identity. An explicit but invalid `auth.token` is refused;
/// a stale cookie just makes a guest.
pub async fn identify(accounts: &Accounts, socket: &Socket) -> Result<(), ConnectError> {
    let (identity, session) = match socket.auth().get("token") {
        Some(raw) => {
            let token = raw.as_str().and_then(SessionToken::from_client);
            let user = match &token {
                Some(token) => accounts.user_for_token(token).await.ok().flatten(),
                None => None,
            };
            match (user, token) {
                (Some(user), Some(token)) => (Identity::User(user), Some(token)),
                _ => {
                    return Err(ConnectError::new("invalid or expired token")
                        .with_data(json!({ "code": "unauthenticated" })))
                }
            }
        }
        None => match token_from_handshake(&socket.handshake().headers) {
            Some(token) => match accounts.user_for_token(&token).await {
                Ok(Some(user)) => (Identity::User(user), Some(token)),
                _ => (Identity::new_guest(), None),
            },
            None => (Identity::new_guest(), None),
        },
    };
    socket.engine().set_label(identity.name());
    socket.insert_extension(identity);
    if let Some(token) = session {
        socket.insert_extension(SessionKey {
            token_hash: token.hash().into(),
            fresh: true,
        });
    }
    Ok(())
}

/// The login session a signed-in socket was opened with: the stored hash of its token (never
/// the token), and whether the session was checked for this very connection (false for a socket
/// restored by connection state recovery, which skips the middleware).
#[derive(Debug, Clone)]
pub struct SessionKey {
    /// The stored hash of the session's token.
    pub token_hash: std::sync::Arc<str>,
    /// True when the session was checked for this connection.
    pub fresh: bool,
}

/// On connect: a signed-in socket joins its session's room (and, if it was restored rather than
/// checked just now, its session is checked again: one that ended meanwhile disconnects it).
pub fn on_connect(accounts: &Accounts, socket: &Socket) {
    let Some(key) = socket.extension::<SessionKey>() else {
        return;
    };
    socket.join(session_room(&key.token_hash));
    if key.fresh {
        socket.insert_extension(SessionKey {
            fresh: false,
            ..key
        });
    } else {
        let (accounts, socket) = (accounts.clone(), socket.clone());
        actix_rt::spawn(async move {
            verified_identity(&accounts, &socket).await;
        });
    }
}

/// The socket's identity, its login session checked again in the store: what privileged actions
/// use, so a socket whose session ended (logout on any node, expiry) cannot act as its user even
/// before its disconnection reaches it. Such a socket is disconnected and gets a guest identity;
/// so does any socket when the store cannot tell (fail closed).
pub async fn verified_identity(accounts: &Accounts, socket: &Socket) -> Identity {
    let identity = identity_of(socket);
    let Some(key) = socket.extension::<SessionKey>() else {
        return identity;
    };
    match accounts.user_for_hash(&key.token_hash).await {
        Ok(Some(_)) => identity,
        Ok(None) => {
            tracing::info!(socket = %socket.id(), user = identity.name(), "session ended; disconnecting its socket");
            socket.disconnect();
            socket.close_connection();
            Identity::new_guest()
        }
        Err(error) => {
            tracing::error!(%error, "session check failed");
            Identity::new_guest()
        }
    }
}

/// The identity fixed at connect time (a guest if, impossibly, none was stored).
pub fn identity_of(socket: &Socket) -> Identity {
    socket
        .extension::<Identity>()
        .unwrap_or_else(Identity::new_guest)
}
