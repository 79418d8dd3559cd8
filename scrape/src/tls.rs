//! `tls_config:` of a scrape job, as Prometheus writes it. The files are read by the caller
//! (the server builds one HTTP client per job from them when the configuration loads).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How to reach an `https` target: the CA that signed its certificate (else the system's),
/// the client certificate to present, or — for a test box — no verification at all.
/// Prometheus's `server_name`, `min_version` and `key_password` are not offered; a
/// configuration naming them is refused as an unknown field rather than half-honoured.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file of the CA certificates to trust, in addition to the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (with `key_file`) for targets that ask for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// Accept any certificate. As in Prometheus: for tests, never for production.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_verify: bool,
}

impl TlsConfig {
    /// Both halves of a client certificate or neither.
    pub(crate) fn validate(&self) -> Result<(), String> {
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => Err("client cert file specified without client key file".into()),
            (None, Some(_)) => Err("client key file specified without client cert file".into()),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_certificate_needs_its_key() {
        let half = TlsConfig {
            cert_file: Some("c.pem".into()),
            ..TlsConfig::default()
        };
        assert!(half.validate().unwrap_err().contains("without client key"));
        let whole = TlsConfig {
            key_file: Some("k.pem".into()),
            ..half
        };
        assert_eq!(whole.validate(), Ok(()));
    }
}
