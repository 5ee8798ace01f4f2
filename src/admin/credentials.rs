//! The admin's user name and password: the password given plainly or as a bcrypt hash (as
//! `@socket.io/admin-ui` takes it), recognised by its `$2a$`/`$2b$`/`$2y$` prefix.

use sha2::{Digest, Sha256};

/// The prefixes of a bcrypt hash.
const BCRYPT_PREFIXES: [&str; 3] = ["$2a$", "$2b$", "$2y$"];

/// Why the admin credentials cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// The user name or password is empty.
    #[error("the admin user name and password must not be empty")]
    Empty,
    /// The password looks like a bcrypt hash but is not a valid one.
    #[error("the admin password starts like a bcrypt hash but is not a valid one")]
    BadHash,
}

/// The stored password.
enum Password {
    /// Compared through SHA-256 digests, in constant time.
    Plain([u8; 32]),
    /// Checked with bcrypt.
    Bcrypt(String),
}

/// Who may open the `/admin` namespace.
pub struct Credentials {
    username: String,
    password: Password,
}

impl Credentials {
    /// Credentials from the settings; a password with a bcrypt prefix must be a valid hash.
    pub fn new(username: &str, password: &str) -> Result<Credentials, CredentialsError> {
        if username.is_empty() || password.is_empty() {
            return Err(CredentialsError::Empty);
        }
        let password = if BCRYPT_PREFIXES.iter().any(|p| password.starts_with(p)) {
            password
                .parse::<bcrypt::HashParts>()
                .map_err(|_| CredentialsError::BadHash)?;
            Password::Bcrypt(password.to_string())
        } else {
            Password::Plain(digest(password))
        };
        Ok(Credentials {
            username: username.to_string(),
            password,
        })
    }

    /// True for the right user name and password. Slow with a bcrypt hash (that is its point):
    /// call it off the event loop.
    pub fn matches(&self, username: &str, password: &str) -> bool {
        let name_ok = same(&digest(username), &digest(&self.username));
        let password_ok = match &self.password {
            Password::Plain(expected) => same(&digest(password), expected),
            Password::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
        };
        name_ok && password_ok
    }
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Compares two digests without stopping at the first difference.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_password() {
        let credentials = Credentials::new("admin", "secret").unwrap();
        assert!(credentials.matches("admin", "secret"));
        assert!(!credentials.matches("admin", "Secret"));
        assert!(!credentials.matches("root", "secret"));
        assert!(!credentials.matches("", ""));
    }

    #[test]
    fn bcrypt_hash() {
        let hash = bcrypt::hash("changeit", 4).unwrap();
        let credentials = Credentials::new("admin", &hash).unwrap();
        assert!(credentials.matches("admin", "changeit"));
        assert!(!credentials.matches("admin", "changeIt"));
        assert!(!credentials.matches("admin", &hash));
    }

    #[test]
    fn refuses_bad_settings() {
        assert_eq!(
            Credentials::new("admin", "$2b$10$short").err(),
            Some(CredentialsError::BadHash)
        );
        assert_eq!(
            Credentials::new("", "x").err(),
            Some(CredentialsError::Empty)
        );
        assert_eq!(
            Credentials::new("a", "").err(),
            Some(CredentialsError::Empty)
        );
    }
}
