//! The error of a request that could not be decoded at all.

use std::fmt;

/// Why a whole request body was refused.
///
/// Problems confined to one series (remote-write) or one metric or data point (OTLP) are not
/// errors of this kind: they are counted and described in the decoded result, and the rest of
/// the request is kept. Every message is bounded in length (values taken from the request are
/// truncated), so it can be returned to the client as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The `Content-Encoding` is not one this endpoint accepts.
    UnsupportedContentEncoding(String),
    /// The `Content-Type` is not one this endpoint accepts.
    UnsupportedContentType(String),
    /// The body, once decompressed, would exceed [`Limits::max_decompressed_bytes`].
    ///
    /// [`Limits::max_decompressed_bytes`]: crate::Limits::max_decompressed_bytes
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The decoded samples would exceed [`Limits::max_samples`] or [`Limits::max_output_bytes`].
    ///
    /// [`Limits::max_samples`]: crate::Limits::max_samples
    /// [`Limits::max_output_bytes`]: crate::Limits::max_output_bytes
    TooManySamples {
        /// Which limit was hit, e.g. `"2000000 samples"`.
        limit: String,
    },
    /// The body is not valid snappy (block format) or gzip data.
    Decompression(String),
    /// The body is not a valid protobuf message of the expected type.
    Protobuf(String),
    /// The body is not valid OTLP/JSON.
    Json(String),
}

impl DecodeError {
    /// Whether the client should be told the body is too large (HTTP 413) rather than invalid.
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            Self::BodyTooLarge { .. } | Self::TooManySamples { .. }
        )
    }

    /// Whether the client should be told the media type is wrong (HTTP 415).
    pub fn is_unsupported_media(&self) -> bool {
        matches!(
            self,
            Self::UnsupportedContentEncoding(_) | Self::UnsupportedContentType(_)
        )
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedContentEncoding(e) => {
                write!(f, "unsupported Content-Encoding {e:?}")
            }
            Self::UnsupportedContentType(t) => write!(f, "unsupported Content-Type {t:?}"),
            Self::BodyTooLarge { limit } => {
                write!(f, "decompressed body exceeds the limit of {limit} bytes")
            }
            Self::TooManySamples { limit } => {
                write!(f, "request decodes to more than {limit}")
            }
            Self::Decompression(e) => write!(f, "cannot decompress body: {e}"),
            Self::Protobuf(e) => write!(f, "invalid protobuf: {e}"),
            Self::Json(e) => write!(f, "invalid OTLP/JSON: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Shortens a string taken from a request before it is echoed in a message.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 120;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// Collects per-item refusal messages, keeping only the first few so that a request with a
/// million bad series does not produce a million-line answer.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    messages: Vec<String>,
    dropped: usize,
}

impl Refusals {
    const KEEP: usize = 10;

    pub(crate) fn push(&mut self, message: String) {
        if self.messages.len() < Self::KEEP {
            self.messages.push(message);
        } else {
            self.dropped += 1;
        }
    }

    /// All messages joined with `"; "`, with a count of those left out; empty when none.
    pub(crate) fn joined(&self) -> String {
        let mut out = self.messages.join("; ");
        if self.dropped > 0 {
            out.push_str(&format!("; and {} more", self.dropped));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_strings_and_cuts_long_ones_on_char_boundaries() {
        assert_eq!(clip("abc"), "abc");
        let long = "é".repeat(200);
        let clipped = clip(&long);
        assert!(clipped.len() < 150, "{clipped}");
        assert!(clipped.ends_with("(400 bytes)"));
    }

    #[test]
    fn refusals_keep_the_first_few() {
        let mut r = Refusals::default();
        assert_eq!(r.joined(), "");
        for i in 0..13 {
            r.push(format!("m{i}"));
        }
        let joined = r.joined();
        assert!(joined.starts_with("m0; m1"));
        assert!(joined.ends_with("m9; and 3 more"), "{joined}");
    }
}
