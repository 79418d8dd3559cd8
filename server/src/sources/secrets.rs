//! Data-source secrets at rest: XChaCha20-Poly1305 with a random nonce per value, under a
//! 32-byte key from `KEIKO_SECRET_KEY` (64 hex characters) or, when unset, generated once
//! into `<data dir>/secret.key` (mode 0600). Secrets are never returned by the API.

use std::path::Path;

use anyhow::{anyhow, Context as _};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    s.len()
        .is_multiple_of(2)
        .then(|| {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
                .collect()
        })
        .flatten()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SecretBox {
    pub fn load(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<SecretBox> {
        let hex = match configured {
            Some(k) => k.trim().to_owned(),
            None => {
                let path = data_dir.join("secret.key");
                if path.exists() {
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?
                        .trim()
                        .to_owned()
                } else {
                    let key = XChaCha20Poly1305::generate_key(&mut OsRng);
                    let hex = to_hex(&key);
                    let mut options = std::fs::OpenOptions::new();
                    options.write(true).create_new(true);
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::OpenOptionsExt as _;
                        options.mode(0o600);
                    }
                    use std::io::Write as _;
                    options
                        .open(&path)
                        .and_then(|mut f| f.write_all(hex.as_bytes()))
                        .with_context(|| format!("writing {}", path.display()))?;
                    tracing::info!(path = %path.display(), "Generated the key that encrypts data-source secrets");
                    hex
                }
            }
        };
        let key = from_hex(&hex)
            .filter(|k| k.len() == 32)
            .ok_or_else(|| anyhow!("the secret key must be 64 hex characters"))?;
        Ok(SecretBox {
            cipher: XChaCha20Poly1305::new_from_slice(&key)
                .map_err(|_| anyhow!("bad key length"))?,
        })
    }

    pub fn seal(&self, plain: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, plain.as_bytes())
            .expect("encryption cannot fail");
        format!("{}:{}", to_hex(&nonce), to_hex(&sealed))
    }

    pub fn open(&self, sealed: &str) -> anyhow::Result<String> {
        let (nonce, body) = sealed
            .split_once(':')
            .ok_or_else(|| anyhow!("malformed secret"))?;
        let nonce = from_hex(nonce)
            .filter(|n| n.len() == 24)
            .ok_or_else(|| anyhow!("malformed nonce"))?;
        let body = from_hex(body).ok_or_else(|| anyhow!("malformed secret"))?;
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(&nonce), body.as_slice())
            .map_err(|_| anyhow!("the secret does not decrypt with this key"))?;
        String::from_utf8(plain).map_err(|_| anyhow!("the secret is not text"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_are_not_stored_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let b = SecretBox::load(None, dir.path()).unwrap();
        let sealed = b.seal("s3cret-token");
        assert!(!sealed.contains("s3cret"));
        assert_ne!(sealed, b.seal("s3cret-token"), "a fresh nonce each time");
        assert_eq!(b.open(&sealed).unwrap(), "s3cret-token");
        // The same key file is used on the next start.
        let again = SecretBox::load(None, dir.path()).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "s3cret-token");
        let other = SecretBox::load(Some(&"ab".repeat(32)), dir.path()).unwrap();
        assert!(other.open(&sealed).is_err());
    }
}
