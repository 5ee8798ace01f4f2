//! Session ids.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use rand::RngCore;

/// Random bytes in a session id (encoded as 20 URL-safe base64 characters).
const SID_BYTES: usize = 15;
/// Separates a node's tag from the random part of a session id (not in the base64url alphabet,
/// yet unreserved in URLs).
const TAG_SEPARATOR: char = '.';
/// Longest node tag accepted in a session id (a client may send anything).
const MAX_TAG_LEN: usize = 32;

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

    /// A fresh random id naming the node tagged `tag` as its owner (`<tag>.<random>`), so any
    /// node of a cluster can tell where the session lives without asking anyone.
    pub fn tagged(tag: &str) -> Sid {
        Sid(format!("{tag}{TAG_SEPARATOR}{}", Sid::random()).into())
    }

    /// The owner's tag in a session id made by [`Sid::tagged`]; `None` for an untagged id or
    /// one whose tag is empty, too long or not URL-safe.
    pub fn owner_tag(sid: &str) -> Option<&str> {
        let (tag, _) = sid.split_once(TAG_SEPARATOR)?;
        let valid = !tag.is_empty()
            && tag.len() <= MAX_TAG_LEN
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then_some(tag)
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
        assert_eq!(Sid::owner_tag(a.as_str()), None);
    }

    #[test]
    fn tagged_ids_name_their_node() {
        let sid = Sid::tagged("n0de");
        assert!(sid.as_str().starts_with("n0de."));
        assert_eq!(Sid::owner_tag(sid.as_str()), Some("n0de"));
        assert_ne!(Sid::tagged("n0de"), sid);
        assert_eq!(Sid::owner_tag(".abc"), None);
        assert_eq!(Sid::owner_tag("a b.abc"), None);
        assert_eq!(
            Sid::owner_tag(&format!("{}.x", "t".repeat(MAX_TAG_LEN + 1))),
            None
        );
    }
}
