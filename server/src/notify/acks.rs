//! Acknowledgements: an active alert acknowledged from the API (who: the signed-in user) or
//! from a signed link in an escalation notification. An acknowledgement holds for the
//! alert's current episode (its `activeAt`), stops its escalation, is shown with
//! `/api/v1/alerts` and written to the audit log. It ends when the alert resolves.
//!
//! Links: `v1.<fingerprint>.<activeAt>.<expires>.<nonce>.<receiver>` signed with
//! HMAC-SHA256 under a random key kept in the database (`ack_link_key`). A link is used once
//! (its nonce is recorded in the same transaction as the acknowledgement) and expires after
//! the escalation policy's `ack_link_ttl`. Opening it (GET) only shows a confirmation; the
//! acknowledgement is a POST, so link prefetchers and scanners cannot trigger it.

use std::collections::HashMap;

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;

use super::matchers::Labels;
use super::Notifier;
use crate::actor::Actor;
use crate::error::Error;

/// An active alert as the rule manager holds it (what may be acknowledged).
#[derive(Clone, Debug)]
pub struct ActiveAlert {
    pub fingerprint: u64,
    /// Its labels as notifications carry them (external labels added).
    pub labels: Labels,
    pub active_at: i64,
}

/// One acknowledgement.
#[derive(Clone, Debug, PartialEq)]
pub struct Ack {
    pub fingerprint: u64,
    pub active_at: i64,
    pub by: String,
    pub at: String,
    pub via: String,
}

impl Ack {
    pub fn view(&self) -> Value {
        json!({
            "fingerprint": format!("{:016x}", self.fingerprint),
            "acknowledgedBy": self.by,
            "acknowledgedAt": self.at,
            "acknowledgedVia": self.via,
        })
    }
}

pub fn parse_fingerprint(field: &str, text: &str) -> Result<u64, Error> {
    if text.len() != 16 {
        return Err(Error::invalid(field, "16 hexadecimal digits"));
    }
    u64::from_str_radix(text, 16).map_err(|_| Error::invalid(field, "16 hexadecimal digits"))
}

type Row = (String, i64, String, String, String);

/// Every stored acknowledgement by fingerprint.
pub async fn load(db: &SqlitePool) -> Result<HashMap<u64, Ack>, Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT fingerprint, active_at, acknowledged_by, acknowledged_at, via FROM alert_acks",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let fp = u64::from_str_radix(&r.0, 16).ok()?;
            Some((
                fp,
                Ack {
                    fingerprint: fp,
                    active_at: r.1,
                    by: r.2,
                    at: r.3,
                    via: r.4,
                },
            ))
        })
        .collect())
}

/// The key that signs acknowledgement links.
pub async fn link_key(db: &SqlitePool) -> Result<Vec<u8>, Error> {
    let key: Vec<u8> = sqlx::query_scalar("SELECT key FROM ack_link_key WHERE id = 1")
        .fetch_one(db)
        .await?;
    Ok(key)
}

/// HMAC-SHA256 (RFC 2104).
fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |x: u8| block.iter().map(|b| b ^ x).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A signed link token for one alert episode, sent to `receiver`.
pub fn sign_link(key: &[u8], alert: &ActiveAlert, receiver: &str, expires_ms: i64) -> String {
    let nonce: [u8; 16] = rand_bytes();
    let payload = format!(
        "v1.{:016x}.{}.{}.{}.{}",
        alert.fingerprint,
        alert.active_at,
        expires_ms,
        b64(&nonce),
        b64(receiver.as_bytes())
    );
    let sig = hmac(key, payload.as_bytes());
    format!("{payload}.{}", b64(&sig))
}

fn rand_bytes() -> [u8; 16] {
    *uuid::Uuid::new_v4().as_bytes()
}

/// Why a link does not acknowledge.
#[derive(Debug)]
pub enum LinkError {
    /// Not a link this portal makes.
    Malformed,
    /// The signature does not match.
    Forged,
    Expired,
    Used,
    /// The alert resolved (or is another episode now).
    NotActive,
    Other(Error),
}

impl LinkError {
    pub fn message(&self) -> String {
        match self {
            LinkError::Malformed => "This is not an acknowledgement link of this portal.".into(),
            LinkError::Forged => "The link's signature is not valid.".into(),
            LinkError::Expired => "The link has expired.".into(),
            LinkError::Used => "The link was already used.".into(),
            LinkError::NotActive => "The alert is no longer active.".into(),
            LinkError::Other(e) => e.message(),
        }
    }
}

impl From<Error> for LinkError {
    fn from(e: Error) -> Self {
        LinkError::Other(e)
    }
}

impl From<sqlx::Error> for LinkError {
    fn from(e: sqlx::Error) -> Self {
        LinkError::Other(e.into())
    }
}

/// The fingerprint a link names, unverified (to find the alert before checking the link).
pub fn token_fingerprint(token: &str) -> Option<u64> {
    let fp = token.split('.').nth(1)?;
    (fp.len() == 16).then(|| u64::from_str_radix(fp, 16).ok())?
}

/// What a valid link says.
#[derive(Clone, Debug)]
pub struct LinkClaim {
    pub fingerprint: u64,
    pub active_at: i64,
    pub expires_ms: i64,
    pub nonce: String,
    pub receiver: String,
}

/// Checks signature and expiry (not whether it was used).
pub fn verify_link(key: &[u8], token: &str, now_ms: i64) -> Result<LinkClaim, LinkError> {
    if token.len() > 512 {
        return Err(LinkError::Malformed);
    }
    let (payload, sig) = token.rsplit_once('.').ok_or(LinkError::Malformed)?;
    let parts: Vec<&str> = payload.split('.').collect();
    let [version, fp, active_at, expires, nonce, receiver] = parts[..] else {
        return Err(LinkError::Malformed);
    };
    if version != "v1" {
        return Err(LinkError::Malformed);
    }
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| LinkError::Malformed)?;
    let want = hmac(key, payload.as_bytes());
    if sig.len() != want.len() || sig.iter().zip(want).fold(0u8, |a, (x, y)| a | (x ^ y)) != 0 {
        return Err(LinkError::Forged);
    }
    let claim = LinkClaim {
        fingerprint: u64::from_str_radix(fp, 16).map_err(|_| LinkError::Malformed)?,
        active_at: active_at.parse().map_err(|_| LinkError::Malformed)?,
        expires_ms: expires.parse().map_err(|_| LinkError::Malformed)?,
        nonce: nonce.to_owned(),
        receiver: base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(receiver)
            .ok()
            .and_then(|r| String::from_utf8(r).ok())
            .ok_or(LinkError::Malformed)?,
    };
    if claim.expires_ms <= now_ms {
        return Err(LinkError::Expired);
    }
    Ok(claim)
}

impl Notifier {
    /// The acknowledgement of an alert's current episode, if any.
    pub fn ack_of(&self, fingerprint: u64, active_at: i64) -> Option<Ack> {
        self.acks
            .read()
            .ok()?
            .get(&fingerprint)
            .filter(|a| a.active_at == active_at)
            .cloned()
    }

    /// Forgets acknowledgements of alerts that resolved.
    pub(super) async fn forget_acks(&self, fingerprints: &[u64]) {
        let mut gone = Vec::new();
        if let Ok(mut acks) = self.acks.write() {
            for fp in fingerprints {
                if acks.remove(fp).is_some() {
                    gone.push(*fp);
                }
            }
        }
        for fp in gone {
            if let Err(err) = sqlx::query("DELETE FROM alert_acks WHERE fingerprint = ?")
                .bind(format!("{fp:016x}"))
                .execute(&self.db)
                .await
            {
                tracing::warn!(error = %err, error_type = "AckForget", "Removing an acknowledgement failed");
            }
        }
    }

    /// Checks a link without using it (the confirmation page).
    pub async fn check_link(
        &self,
        token: &str,
        active: Option<&ActiveAlert>,
    ) -> Result<LinkClaim, LinkError> {
        let claim = verify_link(&self.link_key, token, chrono::Utc::now().timestamp_millis())?;
        let used: Option<String> =
            sqlx::query_scalar("SELECT nonce FROM ack_link_uses WHERE nonce = ?")
                .bind(&claim.nonce)
                .fetch_optional(&self.db)
                .await?;
        if used.is_some() {
            return Err(LinkError::Used);
        }
        match active {
            Some(a) if a.fingerprint == claim.fingerprint && a.active_at == claim.active_at => {
                Ok(claim)
            }
            _ => Err(LinkError::NotActive),
        }
    }

    /// Acknowledges through a link: uses it up, records who (`name` typed on the
    /// confirmation page, else the contact point it was sent to) in the audit log.
    pub async fn ack_by_link(
        &self,
        metrics: &crate::metrics::Metrics,
        token: &str,
        name: Option<&str>,
        active: Option<&ActiveAlert>,
        correlation_id: String,
        client_addr: String,
    ) -> Result<Ack, LinkError> {
        let claim = self.check_link(token, active).await?;
        let active = active.ok_or(LinkError::NotActive)?;
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        if name.is_some_and(|n| n.len() > 100 || n.chars().any(char::is_control)) {
            return Err(Error::invalid("name", "at most 100 printable characters").into());
        }
        let who = match name {
            Some(n) => format!("{n} (link sent to {})", claim.receiver),
            None => format!("link sent to {}", claim.receiver),
        };
        let actor = Actor {
            user_id: 0,
            login: who,
            role: app::dto::Role::Viewer,
            correlation_id,
            client_addr,
        };
        let mut tx = crate::db::begin_write(&self.db).await?;
        let used = sqlx::query("INSERT INTO ack_link_uses (nonce, used_at) VALUES (?, ?) ON CONFLICT(nonce) DO NOTHING")
            .bind(&claim.nonce)
            .bind(crate::db::now())
            .execute(&mut *tx)
            .await?;
        if used.rows_affected() == 0 {
            return Err(LinkError::Used);
        }
        let ack = self.write_ack(tx, metrics, &actor, active, "link").await?;
        Ok(ack)
    }

    /// Acknowledges an active alert as the signed-in caller. Acknowledging again answers
    /// the first acknowledgement.
    pub async fn acknowledge(
        &self,
        metrics: &crate::metrics::Metrics,
        actor: &Actor,
        active: &ActiveAlert,
    ) -> Result<Ack, Error> {
        if let Some(ack) = self.ack_of(active.fingerprint, active.active_at) {
            return Ok(ack);
        }
        let tx = crate::db::begin_write(&self.db).await?;
        self.write_ack(tx, metrics, actor, active, "api").await
    }

    async fn write_ack(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Sqlite>,
        metrics: &crate::metrics::Metrics,
        actor: &Actor,
        active: &ActiveAlert,
        via: &str,
    ) -> Result<Ack, Error> {
        let fp = format!("{:016x}", active.fingerprint);
        let existing: Option<Row> = sqlx::query_as(
            "SELECT fingerprint, active_at, acknowledged_by, acknowledged_at, via FROM alert_acks WHERE fingerprint = ? AND active_at = ?",
        )
        .bind(&fp)
        .bind(active.active_at)
        .fetch_optional(&mut *tx)
        .await?;
        let ack = match existing {
            Some(r) => Ack {
                fingerprint: active.fingerprint,
                active_at: r.1,
                by: r.2,
                at: r.3,
                via: r.4,
            },
            None => {
                let ack = Ack {
                    fingerprint: active.fingerprint,
                    active_at: active.active_at,
                    by: actor.login.clone(),
                    at: crate::db::now(),
                    via: via.to_owned(),
                };
                sqlx::query("INSERT INTO alert_acks (fingerprint, active_at, labels, acknowledged_by, acknowledged_at, via) VALUES (?, ?, ?, ?, ?, ?) \
                             ON CONFLICT(fingerprint) DO UPDATE SET active_at = excluded.active_at, labels = excluded.labels, acknowledged_by = excluded.acknowledged_by, acknowledged_at = excluded.acknowledged_at, via = excluded.via")
                    .bind(&fp)
                    .bind(ack.active_at)
                    .bind(serde_json::to_string(&active.labels).map_err(Error::internal)?)
                    .bind(&ack.by)
                    .bind(&ack.at)
                    .bind(&ack.via)
                    .execute(&mut *tx)
                    .await?;
                ack
            }
        };
        let mut after = ack.view();
        after["labels"] = json!(active.labels);
        let rec = crate::audit::record(
            &mut tx,
            actor,
            "alert.acknowledge",
            "alert",
            &fp,
            None,
            Some(after),
        )
        .await?;
        crate::audit::commit(tx, metrics, rec).await?;
        if let Ok(mut acks) = self.acks.write() {
            acks.insert(active.fingerprint, ack.clone());
        }
        Ok(ack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn links_verify_and_refuse_tampering_and_expiry() {
        let key = [7u8; 32];
        let alert = ActiveAlert {
            fingerprint: 0xabc,
            labels: Labels::new(),
            active_at: 1000,
        };
        let token = sign_link(&key, &alert, "slack", 5000);
        let claim = verify_link(&key, &token, 4000).unwrap();
        assert_eq!(claim.fingerprint, 0xabc);
        assert_eq!(claim.receiver, "slack");
        assert!(matches!(
            verify_link(&key, &token, 5000),
            Err(LinkError::Expired)
        ));
        assert!(matches!(
            verify_link(&[8u8; 32], &token, 4000),
            Err(LinkError::Forged)
        ));
        let tampered = token.replacen(".5000.", ".9000.", 1);
        assert!(matches!(
            verify_link(&key, &tampered, 4000),
            Err(LinkError::Forged)
        ));
        assert!(matches!(
            verify_link(&key, "nonsense", 0),
            Err(LinkError::Malformed)
        ));
    }
}
