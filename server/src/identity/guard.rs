//! What protects password sign-in beyond the hash: lockout per login *and* client address,
//! and a short-lived memory of verified HTTP Basic credentials.
//!
//! Lockout counts failures per (login, address), for unknown logins exactly as for known
//! ones, so a lock reveals nothing about which logins exist, and nobody can lock `admin` out
//! from every address by failing from theirs (the big identity providers lock the same
//! way). Entries live in memory, at most [`MAX_TRACKED`]; a full table first drops expired
//! entries, then the oldest.
//!
//! Basic credentials come with every request; hashing them each time would make Basic cost
//! an argon2 run per request. A successful verification is remembered for [`BASIC_TTL`],
//! keyed by a SHA-256 digest of login and password (never the password itself), together
//! with the password hash it was checked against: a changed password (another hash) or a
//! disabled user misses the memory. This is what Prometheus's exporter-toolkit does for
//! bcrypt.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// (login, address) pairs whose failures are remembered.
pub const MAX_TRACKED: usize = 10_000;
/// Verified Basic credentials remembered at once.
pub const MAX_VERIFIED: usize = 1_000;
/// How long a verified Basic credential is trusted without hashing again.
pub const BASIC_TTL: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Consecutive failures that lock.
    pub threshold: u32,
    /// How long a lock lasts.
    pub duration: Duration,
}

struct Failures {
    count: u32,
    locked_until: Option<Instant>,
    last: Instant,
}

struct Verified {
    user_id: i64,
    password_hash: String,
    until: Instant,
}

#[derive(Default)]
pub struct SignInGuard {
    failures: Mutex<HashMap<(String, String), Failures>>,
    verified: Mutex<HashMap<[u8; 32], Verified>>,
}

fn key(login: &str, addr: &str) -> (String, String) {
    (login.to_lowercase(), addr.to_owned())
}

fn credential_digest(login: &str, password: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(login.to_lowercase().as_bytes());
    h.update([0u8]);
    h.update(password.as_bytes());
    h.finalize().into()
}

impl SignInGuard {
    /// Seconds left on a lock of `login` from `addr`, if it is locked.
    pub fn locked(&self, login: &str, addr: &str) -> Option<u64> {
        let now = Instant::now();
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let until = failures.get(&key(login, addr))?.locked_until?;
        (until > now).then(|| (until - now).as_secs().max(1))
    }

    /// Counts a failure; `true` when this failure locked the pair.
    pub fn failed(&self, login: &str, addr: &str, policy: Policy) -> bool {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_TRACKED && !failures.contains_key(&key(login, addr)) {
            let forget = policy.duration;
            failures
                .retain(|_, f| f.locked_until.is_some_and(|u| u > now) || now - f.last < forget);
            if failures.len() >= MAX_TRACKED {
                if let Some(oldest) = failures
                    .iter()
                    .min_by_key(|(_, f)| f.last)
                    .map(|(k, _)| k.clone())
                {
                    failures.remove(&oldest);
                }
            }
        }
        let entry = failures.entry(key(login, addr)).or_insert(Failures {
            count: 0,
            locked_until: None,
            last: now,
        });
        if entry.locked_until.is_some_and(|u| u <= now) {
            entry.locked_until = None;
            entry.count = 0;
        }
        entry.count += 1;
        entry.last = now;
        if entry.count >= policy.threshold.max(1) {
            entry.count = 0;
            entry.locked_until = Some(now + policy.duration);
            true
        } else {
            false
        }
    }

    /// A successful sign-in clears the pair's failures.
    pub fn succeeded(&self, login: &str, addr: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&key(login, addr));
    }

    /// The user id remembered for these credentials, if they were verified against
    /// `current_hash` less than [`BASIC_TTL`] ago.
    pub fn remembered(&self, login: &str, password: &str) -> Option<(i64, String)> {
        let verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        let v = verified.get(&credential_digest(login, password))?;
        (v.until > Instant::now()).then(|| (v.user_id, v.password_hash.clone()))
    }

    pub fn remember(&self, login: &str, password: &str, user_id: i64, password_hash: &str) {
        let now = Instant::now();
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= MAX_VERIFIED {
            verified.retain(|_, v| v.until > now);
            if verified.len() >= MAX_VERIFIED {
                verified.clear();
            }
        }
        verified.insert(
            credential_digest(login, password),
            Verified {
                user_id,
                password_hash: password_hash.to_owned(),
                until: now + BASIC_TTL,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        threshold: 3,
        duration: Duration::from_secs(60),
    };

    #[test]
    fn a_lock_holds_for_its_login_and_address_only() {
        let g = SignInGuard::default();
        assert!(!g.failed("admin", "10.0.0.1", POLICY));
        assert!(!g.failed("Admin", "10.0.0.1", POLICY));
        assert!(g.failed("admin", "10.0.0.1", POLICY));
        assert!(g.locked("ADMIN", "10.0.0.1").is_some());
        assert_eq!(g.locked("admin", "10.0.0.2"), None);
        assert_eq!(g.locked("other", "10.0.0.1"), None);
    }

    #[test]
    fn unknown_logins_lock_like_known_ones_and_success_clears() {
        let g = SignInGuard::default();
        g.failed("nobody", "a", POLICY);
        g.succeeded("nobody", "a");
        g.failed("nobody", "a", POLICY);
        g.failed("nobody", "a", POLICY);
        assert_eq!(g.locked("nobody", "a"), None);
        assert!(g.failed("nobody", "a", POLICY));
        assert!(g.locked("nobody", "a").is_some());
    }

    #[test]
    fn the_failure_table_stays_bounded() {
        let g = SignInGuard::default();
        for i in 0..MAX_TRACKED + 500 {
            g.failed(&format!("user{i}"), "a", POLICY);
        }
        assert!(g.failures.lock().unwrap().len() <= MAX_TRACKED);
    }

    #[test]
    fn remembered_credentials_are_keyed_by_login_and_password() {
        let g = SignInGuard::default();
        g.remember("admin", "secret-one", 1, "$argon2id$x");
        assert_eq!(
            g.remembered("admin", "secret-one"),
            Some((1, "$argon2id$x".into()))
        );
        assert_eq!(g.remembered("admin", "secret-two"), None);
        for i in 0..MAX_VERIFIED + 10 {
            g.remember(&format!("u{i}"), "p", i as i64, "h");
        }
        assert!(g.verified.lock().unwrap().len() <= MAX_VERIFIED);
    }
}
