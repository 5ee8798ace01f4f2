//! API keys: the secrets a backend shows (`Authorization: Bearer KEY`) to publish over HTTP.
//!
//! A key is never a user session, nor a session token a key: they are read from the same header
//! but checked against different sets, so neither stands in for the other. Keys are compared in
//! constant time (their SHA-256 digests, so not even the length leaks), and only a short
//! fingerprint of a key (its id) ever reaches a log.

use std::fmt;
use std::sync::Arc;

use actix_web::http::header::{self, HeaderMap};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// The shortest key accepted: 16 bytes of a random key are beyond guessing.
pub const MIN_KEY_LENGTH: usize = 16;

/// The longest key accepted (a header value of reasonable size).
pub const MAX_KEY_LENGTH: usize = 256;

/// Hex characters of the key's SHA-256 shown as its id.
const KEY_ID_LENGTH: usize = 8;

/// The prefix of the `Authorization` header that carries a key.
const BEARER_PREFIX: &str = "Bearer ";

/// A key that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApiKeyError {
    /// Shorter than [`MIN_KEY_LENGTH`] or longer than [`MAX_KEY_LENGTH`] bytes.
    #[error("an API key must be {MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} bytes long")]
    Length,
    /// Holds whitespace or a control or non-ASCII character (it could not travel in a header).
    #[error("an API key must be printable ASCII without spaces")]
    Characters,
}

/// One configured API key. Its `Debug` shows only its id, so printing the settings never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    digest: [u8; 32],
    id: String,
}

impl ApiKey {
    /// Checks a key given in the settings.
    pub fn parse(raw: &str) -> Result<ApiKey, ApiKeyError> {
        if !(MIN_KEY_LENGTH..=MAX_KEY_LENGTH).contains(&raw.len()) {
            return Err(ApiKeyError::Length);
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiKeyError::Characters);
        }
        let digest: [u8; 32] = Sha256::digest(raw.as_bytes()).into();
        let id = digest[..KEY_ID_LENGTH / 2]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(ApiKey { digest, id })
    }

    /// The key's id for logs: the first hex digits of its SHA-256, never the key.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.id)
    }
}

/// Reads `--api-key` values for clap; unlike clap's own errors, its errors never echo the value
/// (a mistyped key is still a secret).
#[derive(Clone, Copy, Debug)]
pub struct ApiKeyParser;

impl clap::builder::TypedValueParser for ApiKeyParser {
    type Value = ApiKey;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<ApiKey, clap::Error> {
        let name = arg.map_or_else(|| "--api-key".to_string(), ToString::to_string);
        let refuse = |reason: ApiKeyError| {
            let message = format!("invalid value for '{name}': {reason}\n");
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, message).with_cmd(cmd)
        };
        let raw = value
            .to_str()
            .ok_or_else(|| refuse(ApiKeyError::Characters))?;
        ApiKey::parse(raw).map_err(refuse)
    }
}

/// The configured keys; several at once let an operator rotate them without downtime.
#[derive(Clone, Debug, Default)]
pub struct ApiKeys {
    keys: Arc<[ApiKey]>,
}

impl ApiKeys {
    /// These keys.
    pub fn new(keys: &[ApiKey]) -> ApiKeys {
        ApiKeys { keys: keys.into() }
    }

    /// True when no key is configured (then the endpoints they open do not exist).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key a request shows in `Authorization: Bearer KEY`: 401 without one, 403 when it is
    /// none of the configured keys.
    pub fn authorize(&self, headers: &HeaderMap) -> Result<&ApiKey, ApiError> {
        let shown = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix(BEARER_PREFIX))
            .ok_or(ApiError::NoApiKey)?;
        let digest: [u8; 32] = Sha256::digest(shown.as_bytes()).into();
        // Every key is compared, whichever matches, so the timing tells nothing either.
        let mut found = None;
        for key in self.keys.iter() {
            if bool::from(key.digest.ct_eq(&digest)) {
                found = Some(key);
            }
        }
        found.ok_or(ApiError::Forbidden("wrong API key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    const KEY_A: &str = "key-a-0123456789abcdef";
    const KEY_B: &str = "key-b-0123456789abcdef";

    fn headers(authorization: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(value).expect("a valid header value"),
            );
        }
        headers
    }

    #[test]
    fn short_long_or_spaced_keys_are_refused() {
        assert_eq!(ApiKey::parse("short").unwrap_err(), ApiKeyError::Length);
        assert_eq!(
            ApiKey::parse(&"k".repeat(MAX_KEY_LENGTH + 1)).unwrap_err(),
            ApiKeyError::Length
        );
        assert_eq!(
            ApiKey::parse("has a space in it!!").unwrap_err(),
            ApiKeyError::Characters
        );
        assert_eq!(
            ApiKey::parse("non-ascii-ключ-0123456").unwrap_err(),
            ApiKeyError::Characters
        );
    }

    #[test]
    fn debug_and_id_never_show_the_key() {
        let key = ApiKey::parse(KEY_A).unwrap();
        let shown = format!("{key:?} {}", key.id());
        assert!(!shown.contains(KEY_A), "{shown}");
        assert_eq!(key.id().len(), KEY_ID_LENGTH);
    }

    #[test]
    fn every_configured_key_authorizes_and_no_other() {
        let keys = ApiKeys::new(&[ApiKey::parse(KEY_A).unwrap(), ApiKey::parse(KEY_B).unwrap()]);
        for key in [KEY_A, KEY_B] {
            let shown = keys.authorize(&headers(Some(&format!("Bearer {key}"))));
            assert_eq!(shown.unwrap().id(), ApiKey::parse(key).unwrap().id());
        }
        assert!(matches!(
            keys.authorize(&headers(None)),
            Err(ApiError::NoApiKey)
        ));
        assert!(matches!(
            keys.authorize(&headers(Some(KEY_A))),
            Err(ApiError::NoApiKey)
        ));
        assert!(matches!(
            keys.authorize(&headers(Some("Bearer key-c-0123456789abcdef"))),
            Err(ApiError::Forbidden(_))
        ));
        assert!(matches!(
            keys.authorize(&headers(Some(&format!("Bearer {KEY_A}x")))),
            Err(ApiError::Forbidden(_))
        ));
    }
}
