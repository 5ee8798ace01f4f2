//! Login session tokens: random, given to the client once, stored only as a hash.

use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// A login session token, as sent in the session cookie, an `Authorization: Bearer` header or the
/// Socket.IO `auth: {token}` payload.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// A new random token.
    pub fn generate() -> SessionToken {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::thread_rng().fill_bytes(&mut bytes);
        SessionToken(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token presented by a client (not yet known to be valid).
    pub fn from_client(raw: &str) -> Option<SessionToken> {
        let plausible = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        plausible.then(|| SessionToken(raw.to_string()))
    }

    /// The token's text, for the client.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store keeps: the SHA-256 of the token, hex.
    pub fn hash(&self) -> String {
        hex_sha256(self.0.as_bytes())
    }

    /// The Socket.IO room every socket signed in with this token joins, so that logging out can
    /// disconnect them all, on every node: `session\n` and a hash of the stored hash (neither the
    /// token nor what the store keeps ever appears in a room name).
    pub fn room(&self) -> String {
        session_room(&self.hash())
    }
}

/// The room of the session whose stored hash is `token_hash` (see [`SessionToken::room`]).
pub fn session_room(token_hash: &str) -> String {
    let digest = hex_sha256(format!("agora session room\n{token_hash}").as_bytes());
    format!("{SESSION_ROOM_PREFIX}{}", &digest[..32])
}

/// What every session room's name starts with.
pub const SESSION_ROOM_PREFIX: &str = "session\n";

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(…)")
    }
}
