//! Parsed user text: once a value of these types exists, its length and content were checked.

use super::error::AppError;

/// Checks that `raw` has `min..=max` characters and no control characters but newlines and tabs.
fn checked(raw: &str, what: &str, min: usize, max: usize) -> Result<String, AppError> {
    let trimmed = raw.trim();
    let length = trimmed.chars().count();
    if length < min || length > max {
        return Err(AppError::BadRequest(format!(
            "{what} must have {min} to {max} characters"
        )));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(AppError::BadRequest(format!(
            "{what} contains control characters"
        )));
    }
    Ok(trimmed.to_string())
}

/// A chat room name: 1–40 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomName(String);

impl RoomName {
    /// Checks a client's room name: 1–40 characters on one line.
    pub fn parse(raw: &str) -> Result<RoomName, AppError> {
        let name = checked(raw, "a room name", 1, 40)?;
        if name.contains('\n') || name.contains('\t') {
            return Err(AppError::BadRequest("a room name is one line".into()));
        }
        Ok(RoomName(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Socket.IO room its members are in.
    pub fn socket_room(&self) -> String {
        format!("chat:{}", self.0)
    }
}

/// Checked text of `min..=max` characters (a message, a tweet, a name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    /// Checks client text of 1 to `max` characters; `what` names it in the error.
    pub fn parse(raw: &str, what: &str, max: usize) -> Result<Text, AppError> {
        checked(raw, what, 1, max).map(Text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names() {
        assert_eq!(RoomName::parse("  lobby ").unwrap().as_str(), "lobby");
        assert!(RoomName::parse("").is_err());
        assert!(RoomName::parse("   ").is_err());
        assert!(RoomName::parse(&"r".repeat(41)).is_err());
        assert!(RoomName::parse(&"é".repeat(40)).is_ok());
        assert!(RoomName::parse("a\u{0}b").is_err());
        assert!(RoomName::parse("two\nlines").is_err());
    }

    #[test]
    fn texts() {
        assert!(Text::parse("hi\nthere", "text", 10).is_ok());
        assert!(Text::parse("", "text", 10).is_err());
        assert!(Text::parse(&"x".repeat(11), "text", 10).is_err());
    }
}
