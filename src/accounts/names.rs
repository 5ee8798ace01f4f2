//! Parsed credentials: once a [`Username`] or [`Password`] exists, it is valid.

use std::fmt;

/// Shortest and longest user names.
pub const USERNAME_LENGTH: std::ops::RangeInclusive<usize> = 3..=24;
/// Shortest password; the longest is capped so hashing cannot be used to burn CPU.
pub const PASSWORD_LENGTH: std::ops::RangeInclusive<usize> = 8..=256;

/// A user name: 3–24 letters, digits, `_` or `-`, not starting with `guest-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Checks a proposed name.
    pub fn parse(raw: &str) -> Result<Username, &'static str> {
        if !USERNAME_LENGTH.contains(&raw.chars().count()) {
            return Err("user names have 3 to 24 characters");
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err("user names use letters, digits, '_' and '-' only");
        }
        if Username::key_of(raw).starts_with("guest-") {
            return Err("names starting with 'guest-' are reserved for guests");
        }
        Ok(Username(raw.to_string()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The canonical key of the name: names are unique regardless of ASCII case, so whatever
    /// counts, groups or compares users by name uses this form.
    pub fn key(&self) -> String {
        Username::key_of(&self.0)
    }

    /// The canonical key of a name as stored or sent (see [`Username::key`]).
    pub fn key_of(name: &str) -> String {
        name.to_ascii_lowercase()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password of acceptable length (never logged, never displayed).
pub struct Password(String);

impl Password {
    /// Checks a proposed password.
    pub fn parse(raw: &str) -> Result<Password, &'static str> {
        if !PASSWORD_LENGTH.contains(&raw.chars().count()) {
            return Err("passwords have at least 8 characters (and at most 256)");
        }
        Ok(Password(raw.to_string()))
    }

    /// The password's text, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for good in ["bob", "Alice_99", "a-b", "x".repeat(24).as_str()] {
            assert!(Username::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ab",
            "x".repeat(25).as_str(),
            "has space",
            "<script>",
            "émile",
            "guest-abc",
            "GUEST-abc",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_ignore_case() {
        let name = Username::parse("Alice_99").expect("a valid name");
        assert_eq!(name.key(), "alice_99");
        assert_eq!(name.key(), Username::key_of("ALICE_99"));
    }

    #[test]
    fn passwords() {
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse(&"p".repeat(257)).is_err());
    }
}
