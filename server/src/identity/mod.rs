//! Who may do what: users, roles, teams, sessions, API tokens. Every change goes through
//! these modules, inside one transaction together with its audit record.

pub mod guard;
pub mod password;
pub mod sessions;
pub mod sign_in;
pub mod teams;
pub mod tokens;
pub mod users;

pub use app::dto::Role;

use crate::error::Error;

/// A value the API refused, naming the field and the reason.
#[derive(Debug, PartialEq, Eq)]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

impl From<ValidationError> for Error {
    fn from(err: ValidationError) -> Error {
        Error::invalid(err.field, err.message)
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> ValidationError {
    ValidationError {
        field,
        message: message.into(),
    }
}

/// A user's login name: 1–64 characters of letters, digits and `. _ @ -`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login(String);

impl Login {
    pub fn parse(s: &str) -> Result<Login, ValidationError> {
        let s = s.trim();
        if s.is_empty() || s.len() > 64 {
            return Err(invalid("login", "must be 1 to 64 characters"));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c))
        {
            return Err(invalid(
                "login",
                "may contain only letters, digits and . _ @ -",
            ));
        }
        Ok(Login(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: at least 12 characters (NIST SP 800-63B favours length), at most 256.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 12;

    pub fn parse(s: &str) -> Result<Password, ValidationError> {
        let chars = s.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(invalid(
                "password",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if chars > 256 {
            return Err(invalid("password", "must be at most 256 characters"));
        }
        Ok(Password(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A display name or team name: trimmed, 1–100 characters, no control characters.
pub fn parse_name(
    field: &'static str,
    s: &str,
    allow_empty: bool,
) -> Result<String, ValidationError> {
    let s = s.trim();
    if s.is_empty() && !allow_empty {
        return Err(invalid(field, "must not be empty"));
    }
    if s.chars().count() > 100 {
        return Err(invalid(field, "must be at most 100 characters"));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(s.to_owned())
}

pub fn parse_role(s: &str) -> Result<Role, ValidationError> {
    Role::parse(s).map_err(|m| invalid("role", m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_checked() {
        assert_eq!(Login::parse(" alice ").unwrap().as_str(), "alice");
        assert_eq!(Login::parse("").unwrap_err().field, "login");
        assert!(Login::parse("a b").is_err());
        assert!(Login::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn passwords_shorter_than_12_characters_are_refused() {
        let err = Password::parse("elevenchars").unwrap_err();
        assert_eq!(err.field, "password");
        assert!(err.message.contains("12"));
        assert!(Password::parse("twelve chars").is_ok());
        assert_eq!(
            format!("{:?}", Password::parse("secret secret").unwrap()),
            "Password(***)"
        );
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("name", "  SRE ", false).unwrap(), "SRE");
        assert!(parse_name("name", "  ", false).is_err());
        assert_eq!(parse_name("name", "", true).unwrap(), "");
        assert!(parse_name("name", "a\u{7}b", false).is_err());
    }
}
