//! Query errors, classified as the Prometheus HTTP API reports them.

use std::fmt;

/// The kinds of failure Prometheus's API distinguishes (`errorType` in its JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The query is malformed or its parameters are invalid (HTTP 400).
    BadData,
    /// The query is valid but failed while running (HTTP 422).
    Execution,
    /// The query ran past its time limit (HTTP 503).
    Timeout,
    /// The query was cancelled by its caller (HTTP 503).
    Canceled,
}

impl ErrorKind {
    /// The API's name for the kind: `bad_data`, `execution`, `timeout` or `canceled`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadData => "bad_data",
            ErrorKind::Execution => "execution",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Canceled => "canceled",
        }
    }
}

/// A failed query: its kind and Prometheus's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    pub kind: ErrorKind,
    pub message: String,
}

impl QueryError {
    /// A `bad_data` error.
    pub fn bad_data(message: impl Into<String>) -> Self {
        QueryError {
            kind: ErrorKind::BadData,
            message: message.into(),
        }
    }

    /// An `execution` error.
    pub fn execution(message: impl Into<String>) -> Self {
        QueryError {
            kind: ErrorKind::Execution,
            message: message.into(),
        }
    }

    /// The error of a query that went over its time limit.
    pub fn timeout(what: &str) -> Self {
        QueryError {
            kind: ErrorKind::Timeout,
            message: format!("query timed out in {what}"),
        }
    }

    /// The error of a query its caller cancelled.
    pub fn canceled(what: &str) -> Self {
        QueryError {
            kind: ErrorKind::Canceled,
            message: format!("query was canceled in {what}"),
        }
    }

    /// The error for native histogram samples, which this engine does not evaluate. A
    /// [`crate::Queryable`] whose series hold native histograms returns it from `select`.
    pub fn native_histograms_unsupported() -> Self {
        QueryError::execution("native histograms are not supported by this PromQL engine")
    }

    /// Prometheus's error when a query would hold more samples than allowed.
    pub fn too_many_samples() -> Self {
        QueryError::execution(
            "query processing would load too many samples into memory in query execution",
        )
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for QueryError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_the_api_names() {
        assert_eq!(QueryError::timeout("x").kind.as_str(), "timeout");
        assert_eq!(QueryError::bad_data("x").kind.as_str(), "bad_data");
        assert_eq!(ErrorKind::Canceled.as_str(), "canceled");
        assert_eq!(ErrorKind::Execution.as_str(), "execution");
    }
}
