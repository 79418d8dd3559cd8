//! Password hashing with argon2id (the crate's defaults: m=19 MiB, t=2, p=1, as OWASP
//! recommends) on the bounded `cpu::HASHING` pool, plus random secrets and their digests.
//! The pool bounds memory and CPU: a flood of sign-ins waits or is refused ([`Busy`]), it
//! never runs fifty 19 MiB hashes at once.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

pub use crate::cpu::Busy;

pub async fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    crate::cpu::HASHING
        .run(move || hash_blocking(&password))
        .await?
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Checks `password` against `stored`. With no stored hash (unknown login) it still spends
/// the same work on a dummy hash, so timing does not reveal which logins exist.
pub async fn verify(password: &str, stored: Option<String>) -> Result<bool, Busy> {
    let password = password.to_owned();
    crate::cpu::HASHING
        .run(move || {
            let dummy;
            let phc = match &stored {
                Some(s) => s.as_str(),
                None => {
                    dummy = dummy_hash();
                    dummy
                }
            };
            let ok = PasswordHash::new(phc)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            ok && stored.is_some()
        })
        .await
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("not a real password, only for timing").unwrap_or_default())
}

/// `bytes` random bytes from the OS, as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    hex(&buf)
}

/// SHA-256 of a high-entropy secret (session cookie, API token), as hex. Such secrets need
/// no slow hash: they cannot be guessed, only stolen, and the digest is useless to a thief.
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert_eq!(
            verify("correct horse battery", Some(h.clone())).await,
            Ok(true)
        );
        assert_eq!(verify("wrong horse battery!", Some(h)).await, Ok(false));
        assert_eq!(verify("anything at all here", None).await, Ok(false));
    }

    #[test]
    fn random_secrets_differ_and_digests_are_stable() {
        assert_eq!(random_hex(20).len(), 40);
        assert_ne!(random_hex(20), random_hex(20));
        assert_eq!(digest("abc"), digest("abc"));
        assert_eq!(digest("abc").len(), 64);
    }
}
