//! Password hashing with argon2id (the crate's defaults: m=19 MiB, t=2, p=1, as OWASP
//! recommends) on the bounded `cpu::HASHING` pool, plus random secrets and their digests.
//! The pool bounds memory and CPU: a flood of sign-ins waits or is refused ([`Busy`]), it
//! never runs fifty 19 MiB hashes at once.

use std::cell::RefCell;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{Output, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};
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
            let ok = matches(password.as_bytes(), phc);
            ok && stored.is_some()
        })
        .await
}

/// The most memory a stored hash may ask for: 64 MiB (the portal writes 19 MiB hashes).
const MAX_BLOCKS: usize = 64 * 1024;

thread_local! {
    /// The hashing thread's argon2 memory, allocated once and reused: a fresh 19 MiB per
    /// verification fragmented the heap, and a flood of made-up logins grew the process by
    /// ~150 MB that it never gave back.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Whether `password` hashes to the PHC string `phc` (argon2 only), compared in constant
/// time. Verifies what `PasswordVerifier` verifies, in the thread's reused memory.
fn matches(password: &[u8], phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let needed = params.block_count();
    if needed > MAX_BLOCKS {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    let hashed = BLOCKS.with_borrow_mut(|blocks| {
        if blocks.len() < needed {
            blocks.resize(needed, Block::new());
        }
        Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            password,
            salt,
            &mut out,
            &mut blocks[..needed],
        )
    });
    // `Output`'s equality is constant-time.
    hashed.is_ok() && Output::new(&out).is_ok_and(|computed| computed == expected)
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
    fn other_argon2_parameters_verify_and_broken_or_greedy_hashes_do_not() {
        let salt = SaltString::generate(&mut OsRng);
        for algorithm in [Algorithm::Argon2i, Algorithm::Argon2d, Algorithm::Argon2id] {
            let params = Params::new(64, 1, 1, Some(16)).unwrap();
            let phc = Argon2::new(algorithm, Version::V0x10, params)
                .hash_password(b"pw", &salt)
                .unwrap()
                .to_string();
            assert!(matches(b"pw", &phc), "{phc}");
            assert!(!matches(b"px", &phc), "{phc}");
        }
        assert!(!matches(b"pw", "$argon2id$v=19$m=19456,t=2,p=1$broken"));
        assert!(!matches(b"pw", "not a hash"));
        // Asking for 128 MiB is refused before any memory is taken.
        let greedy = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string()
        .replace("m=8,", "m=131072,");
        assert!(!matches(b"pw", &greedy), "{greedy}");
    }

    #[test]
    fn random_secrets_differ_and_digests_are_stable() {
        assert_eq!(random_hex(20).len(), 40);
        assert_ne!(random_hex(20), random_hex(20));
        assert_eq!(digest("abc"), digest("abc"));
        assert_eq!(digest("abc").len(), 64);
    }
}
