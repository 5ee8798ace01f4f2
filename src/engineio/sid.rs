//! Session ids.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use rand::RngCore;

/// Random bytes in a session id (encoded as 20 URL-safe base64 characters).
const SID_BYTES: usize = 15;

/// An Engine.IO session id: random, URL-safe, cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid(Arc<str>);

impl Sid {
    /// A fresh random id.
    pub fn random() -> Sid {
        let mut bytes = [0u8; SID_BYTES];
        rand::thread_rng().fill_bytes(&mut bytes);
        Sid(base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(bytes)
            .into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Sid {
    fn from(value: &str) -> Self {
        Sid(value.into())
    }
}

impl std::borrow::Borrow<str> for Sid {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_url_safe_and_distinct() {
        let a = Sid::random();
        let b = Sid::random();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 20);
        assert!(a
            .as_str()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
}
