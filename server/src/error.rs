//! The domain's error: what went wrong, in the domain's words. The HTTP layer alone turns it
//! into a status code and a JSON body (`http/errors.rs`); server rendering reads it as it is.

use serde_json::Value;

/// What a domain operation refuses or fails with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `field` holds a value that cannot be accepted, for the reason in `message`.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Like [`Error::Invalid`], naming the first problem; `errors` lists every problem (a
    /// rule group with several bad rules).
    #[error("{field}: {message}")]
    InvalidMany {
        field: String,
        message: String,
        errors: Value,
    },
    /// The query a caller sent was refused by the store it was sent to.
    #[error("{0}")]
    BadQuery(String),
    /// No `what` with that key exists.
    #[error("{0} not found")]
    NotFound(String),
    /// `field` clashes with what exists (a name already taken); `current` is the stored
    /// value where the caller can use it to merge.
    #[error("{field}: {message}")]
    Conflict {
        field: String,
        message: String,
        current: Option<Value>,
    },
    /// The caller edited an older version than the one stored; `current` is the stored one.
    #[error("version: {message}")]
    VersionConflict { message: String, current: Value },
    /// The caller is not signed in (or their credentials do not hold).
    #[error("{0}")]
    Unauthorized(String),
    /// The caller's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// A bounded pool is full; the caller may retry shortly.
    #[error(transparent)]
    Busy(#[from] crate::cpu::Busy),
    /// A store the portal asks did not answer in time.
    #[error("{0}")]
    SourceTimeout(String),
    /// A store the portal asks failed or answered garbage.
    #[error("{0}")]
    SourceUnavailable(String),
    /// A pushed body refused whole (nothing of it stored), for `reason`; `details` hold what
    /// the sender can act on (the line or entry, the limit's configuration key).
    #[error("body: {message}")]
    Refused {
        reason: Refusal,
        message: String,
        details: Option<Value>,
    },
    /// A pushed body the `ingest` decoders cannot read (malformed, too large, of a type or
    /// encoding they do not speak); `limit` names the configured limit behind it, if one is.
    #[error("body: {error}")]
    Undecodable {
        error: ingest::DecodeError,
        limit: Option<&'static str>,
    },
    /// A store busy with other writes; the sender may retry shortly.
    #[error("{0}")]
    StoreBusy(String),
    /// A fault of the portal itself; the detail is logged, never shown.
    #[error(transparent)]
    Internal(anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a pushed body was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not what the protocol says, or a record breaks a rule.
    Malformed,
    /// Over one of the configured limits.
    Limit,
    /// Refused by the store itself (its own limits, out-of-order samples).
    Refused,
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Error {
        Error::NotFound(what.into())
    }

    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Conflict {
            field: field.into(),
            message: message.into(),
            current: None,
        }
    }

    pub fn version_conflict(message: impl Into<String>, current: impl serde::Serialize) -> Error {
        Error::VersionConflict {
            message: message.into(),
            current: serde_json::to_value(current).unwrap_or(Value::Null),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Error {
        Error::Forbidden(message.into())
    }

    pub fn unauthorized(message: impl Into<String>) -> Error {
        Error::Unauthorized(message.into())
    }

    pub fn refused(reason: Refusal, message: impl Into<String>, details: Option<Value>) -> Error {
        Error::Refused {
            reason,
            message: message.into(),
            details,
        }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Error {
        Error::Internal(err.into())
    }

    /// The field the error is about, where it is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. }
            | Error::InvalidMany { field, .. }
            | Error::Conflict { field, .. } => Some(field),
            Error::VersionConflict { .. } => Some("version"),
            Error::Refused { .. } | Error::Undecodable { .. } => Some("body"),
            Error::BadQuery(_) => Some("query"),
            _ => None,
        }
    }

    /// The text a user may read: the refusal's reason, never internal detail.
    pub fn message(&self) -> String {
        match self {
            Error::Invalid { message, .. }
            | Error::InvalidMany { message, .. }
            | Error::Conflict { message, .. }
            | Error::VersionConflict { message, .. }
            | Error::Refused { message, .. } => message.clone(),
            Error::Undecodable { error, limit } => match limit {
                Some(key) => format!("{error} (the limit {key})"),
                None => error.to_string(),
            },
            Error::Internal(_) => {
                "internal error; it was logged with this request's correlation ID".to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Error {
        Error::Internal(anyhow::Error::new(err).context("database"))
    }
}

impl From<anyhow::Error> for Error {
    fn from(err: anyhow::Error) -> Error {
        match err.downcast_ref::<crate::cpu::Busy>() {
            Some(busy) => Error::Busy(*busy),
            None => Error::Internal(err),
        }
    }
}

/// A unique-constraint violation of an insert or update as a conflict on `field`; any other
/// database error as internal.
pub fn unique_violation(
    field: &'static str,
    message: &'static str,
) -> impl Fn(sqlx::Error) -> Error {
    move |err| match &err {
        sqlx::Error::Database(d) if d.is_unique_violation() => Error::conflict(field, message),
        _ => Error::from(err),
    }
}
