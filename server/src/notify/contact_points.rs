//! Contact points: where notifications go (Slack, e-mail, webhook, Alertmanager), validated
//! with the field named, stored with their secrets (Slack's webhook URL, the SMTP password)
//! sealed by the data sources' [`SecretBox`] and never shown again. A contact point whose
//! required settings are missing (the provisioned ones, until an admin fills them in) is
//! saved but `disabled`: nothing is sent to it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::SqlitePool;

use crate::actor::Actor;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::outbound;
use crate::sources::secrets::SecretBox;

/// What a caller sends to create or change a contact point.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactPointBody {
    /// Unique; the name notification policies route to.
    pub name: String,
    /// `slack`, `email`, `webhook` or `alertmanager`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The type's settings (see [`Settings`]).
    #[serde(default)]
    pub settings: Value,
    /// Whether resolved alerts are notified (Alertmanager's `send_resolved`).
    pub send_resolved: Option<bool>,
    /// The version the caller edited (updates only).
    pub version: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    None,
    Starttls,
    Tls,
}

/// A contact point's settings, secrets opened: what the senders use.
#[derive(Clone, Debug, PartialEq)]
pub enum Settings {
    Slack {
        url: Option<String>,
        channel: String,
    },
    Email {
        to: Vec<String>,
        from: String,
        smarthost: Option<String>,
        username: String,
        password: Option<String>,
        tls: Tls,
    },
    Webhook {
        url: Option<String>,
    },
    Alertmanager {
        urls: Vec<String>,
    },
}

impl Settings {
    pub fn kind(&self) -> &'static str {
        match self {
            Settings::Slack { .. } => "slack",
            Settings::Email { .. } => "email",
            Settings::Webhook { .. } => "webhook",
            Settings::Alertmanager { .. } => "alertmanager",
        }
    }

    /// Why nothing can be sent yet, if so.
    pub fn disabled_reason(&self) -> Option<&'static str> {
        match self {
            Settings::Slack { url: None, .. } => Some("settings.url is not set"),
            Settings::Email {
                smarthost: None, ..
            } => Some("settings.smarthost is not set"),
            Settings::Webhook { url: None } => Some("settings.url is not set"),
            Settings::Alertmanager { urls } if urls.is_empty() => Some("settings.urls is empty"),
            _ => None,
        }
    }

    /// The settings without secrets (stored in clear and shown) and the secret fields.
    fn split(&self) -> (Value, Option<Value>) {
        match self {
            Settings::Slack { url, channel } => (
                json!({ "channel": channel }),
                url.as_ref().map(|u| json!({ "url": u })),
            ),
            Settings::Email {
                to,
                from,
                smarthost,
                username,
                password,
                tls,
            } => (
                json!({ "to": to, "from": from, "smarthost": smarthost, "username": username, "tls": tls }),
                password.as_ref().map(|p| json!({ "password": p })),
            ),
            Settings::Webhook { url } => (json!({ "url": url }), None),
            Settings::Alertmanager { urls } => (json!({ "urls": urls }), None),
        }
    }

    /// Joins stored settings and opened secrets back together.
    fn join(kind: &str, public: &Value, secret: Option<&Value>) -> Result<Settings, String> {
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let list = |k: &str| -> Vec<String> {
            public
                .get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let secret = secret.cloned().unwrap_or(Value::Null);
        Ok(match kind {
            "slack" => Settings::Slack {
                url: s(&secret, "url"),
                channel: s(public, "channel").unwrap_or_default(),
            },
            "email" => Settings::Email {
                to: list("to"),
                from: s(public, "from").unwrap_or_default(),
                smarthost: s(public, "smarthost"),
                username: s(public, "username").unwrap_or_default(),
                password: s(&secret, "password"),
                tls: serde_json::from_value(
                    public.get("tls").cloned().unwrap_or(json!("starttls")),
                )
                .map_err(|e| e.to_string())?,
            },
            "webhook" => Settings::Webhook {
                url: s(public, "url"),
            },
            "alertmanager" => Settings::Alertmanager { urls: list("urls") },
            other => return Err(format!("unknown stored type `{other}`")),
        })
    }
}

/// A contact point as the dispatcher and the senders see it.
#[derive(Clone, Debug)]
pub struct ContactPoint {
    pub id: i64,
    pub name: String,
    pub settings: Settings,
    pub send_resolved: bool,
    pub provisioned: bool,
    pub version: i64,
    pub updated_at: String,
}

impl ContactPoint {
    /// The API's view: secrets never, only whether they are set (`secure_fields`).
    pub fn view(&self) -> Value {
        let (public, secret) = self.settings.split();
        let secure: Vec<&str> = secret
            .as_ref()
            .and_then(Value::as_object)
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let reason = self.settings.disabled_reason();
        json!({
            "id": self.id,
            "name": self.name,
            "type": self.settings.kind(),
            "settings": public,
            "secure_fields": secure,
            "send_resolved": self.send_resolved,
            "disabled": reason.is_some(),
            "disabled_reason": reason,
            "provisioned": self.provisioned,
            "version": self.version,
            "updated_at": self.updated_at,
        })
    }
}

fn string_field(settings: &Value, key: &str) -> Result<Option<String>, Error> {
    match settings.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(Error::invalid(
            format!("settings.{key}"),
            "must be a string",
        )),
    }
}

fn check_url(field: &str, raw: &str, allow_link_local: bool) -> Result<String, Error> {
    if raw.len() > 2048 {
        return Err(Error::invalid(field, "a URL is at most 2048 characters"));
    }
    outbound::check_url(raw, allow_link_local)
        .map(|u| u.to_string())
        .map_err(|m| Error::invalid(field, m))
}

fn mailbox(field: &str, raw: &str) -> Result<String, Error> {
    raw.parse::<lettre::message::Mailbox>()
        .map(|_| raw.to_owned())
        .map_err(|e| Error::invalid(field, format!("`{raw}` is not an e-mail address: {e}")))
}

/// `host:port`, the host not a forbidden address.
fn smarthost(raw: &str, allow_link_local: bool) -> Result<String, Error> {
    let field = "settings.smarthost";
    let (host, port) = raw
        .rsplit_once(':')
        .ok_or_else(|| Error::invalid(field, "must be host:port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains(['/', ' ', '@']) {
        return Err(Error::invalid(
            field,
            format!("`{host}` is not a host name"),
        ));
    }
    port.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| Error::invalid(field, format!("`{port}` is not a port")))?;
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        if !allow_link_local && outbound::forbidden_ip(ip) {
            return Err(Error::invalid(
                field,
                format!("{ip} is a link-local or cloud-metadata address"),
            ));
        }
    }
    Ok(raw.to_owned())
}

/// Validates a body into settings. `existing` keeps secrets the body leaves out;
/// `complete` requires every setting sending needs (the API), provisioning may leave them
/// out (the contact point is then disabled).
pub fn validate(
    body: &ContactPointBody,
    existing: Option<&Settings>,
    allow_link_local: bool,
    complete: bool,
) -> Result<Settings, Error> {
    let name = body.name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "1 to 100 printable characters"));
    }
    let s = &body.settings;
    if !(s.is_object() || s.is_null()) {
        return Err(Error::invalid("settings", "must be an object"));
    }
    let allowed: &[&str] = match body.kind.as_str() {
        "slack" => &["url", "channel"],
        "email" => &["to", "from", "smarthost", "username", "password", "tls"],
        "webhook" => &["url"],
        "alertmanager" => &["urls"],
        other => {
            return Err(Error::invalid(
                "type",
                format!(
                "`{other}` is not a contact point type; use slack, email, webhook or alertmanager"
            ),
            ))
        }
    };
    if let Some(unknown) = s
        .as_object()
        .and_then(|o| o.keys().find(|k| !allowed.contains(&k.as_str())))
    {
        return Err(Error::invalid(
            format!("settings.{unknown}"),
            format!("not a setting of {}; use {}", body.kind, allowed.join(", ")),
        ));
    }
    let required = |field: &str, v: Option<String>| -> Result<Option<String>, Error> {
        if complete && v.is_none() {
            return Err(Error::invalid(format!("settings.{field}"), "is required"));
        }
        Ok(v)
    };
    let settings = match body.kind.as_str() {
        "slack" => {
            let kept = match existing {
                Some(Settings::Slack { url, .. }) => url.clone(),
                _ => None,
            };
            let url = match string_field(s, "url")? {
                Some(u) => Some(check_url("settings.url", &u, allow_link_local)?),
                None => kept,
            };
            let channel = string_field(s, "channel")?.unwrap_or_default();
            if channel.len() > 80 {
                return Err(Error::invalid("settings.channel", "at most 80 characters"));
            }
            Settings::Slack {
                url: required("url", url)?,
                channel,
            }
        }
        "email" => {
            let to: Vec<String> = match s.get("to") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::String(t)) => t
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| Error::invalid("settings.to", "a list of addresses"))
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(Error::invalid("settings.to", "an address or a list")),
            };
            if to.is_empty() || to.len() > 50 {
                return Err(Error::invalid("settings.to", "1 to 50 addresses"));
            }
            for t in &to {
                mailbox("settings.to", t)?;
            }
            let from = string_field(s, "from")?
                .ok_or_else(|| Error::invalid("settings.from", "is required"))?;
            mailbox("settings.from", &from)?;
            let host = match string_field(s, "smarthost")? {
                Some(h) => Some(smarthost(&h, allow_link_local)?),
                None => None,
            };
            let tls = match string_field(s, "tls")?.as_deref() {
                None | Some("starttls") => Tls::Starttls,
                Some("none") => Tls::None,
                Some("tls") => Tls::Tls,
                Some(other) => {
                    return Err(Error::invalid(
                        "settings.tls",
                        format!("`{other}` is not none, starttls or tls"),
                    ))
                }
            };
            let username = string_field(s, "username")?.unwrap_or_default();
            let kept = match existing {
                Some(Settings::Email { password, .. }) => password.clone(),
                _ => None,
            };
            let password = string_field(s, "password")?.or(kept);
            if password.is_some() && username.is_empty() {
                return Err(Error::invalid(
                    "settings.username",
                    "a password needs a username",
                ));
            }
            Settings::Email {
                to,
                from,
                smarthost: required("smarthost", host)?,
                username,
                password,
                tls,
            }
        }
        "webhook" => {
            let url = match string_field(s, "url")? {
                Some(u) => Some(check_url("settings.url", &u, allow_link_local)?),
                None => None,
            };
            Settings::Webhook {
                url: required("url", url)?,
            }
        }
        _ => {
            let urls: Vec<String> = match s.get("urls") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let field = format!("settings.urls[{i}]");
                        let raw = v
                            .as_str()
                            .ok_or_else(|| Error::invalid(&field, "must be a string"))?;
                        check_url(&field, raw, allow_link_local)
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(Error::invalid("settings.urls", "a list of URLs")),
            };
            if (complete && urls.is_empty()) || urls.len() > 10 {
                return Err(Error::invalid("settings.urls", "1 to 10 URLs"));
            }
            Settings::Alertmanager { urls }
        }
    };
    Ok(settings)
}

type Row = (
    i64,
    String,
    String,
    String,
    Option<String>,
    bool,
    bool,
    i64,
    String,
);
const COLUMNS: &str =
    "id, name, type, settings, secret, send_resolved, provisioned, version, updated_at";

fn from_row(row: Row, secrets: &SecretBox) -> Result<ContactPoint, Error> {
    let (id, name, kind, public, secret, send_resolved, provisioned, version, updated_at) = row;
    let public: Value = serde_json::from_str(&public).map_err(Error::internal)?;
    let secret: Option<Value> = match secret {
        Some(sealed) => {
            Some(serde_json::from_str(&secrets.open(&sealed)?).map_err(Error::internal)?)
        }
        None => None,
    };
    Ok(ContactPoint {
        id,
        name,
        settings: Settings::join(&kind, &public, secret.as_ref())
            .map_err(|m| Error::internal(anyhow::anyhow!(m)))?,
        send_resolved,
        provisioned,
        version,
        updated_at,
    })
}

pub async fn list(db: &SqlitePool, secrets: &SecretBox) -> Result<Vec<ContactPoint>, Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM contact_points ORDER BY name"
    ))
    .fetch_all(db)
    .await?;
    rows.into_iter().map(|r| from_row(r, secrets)).collect()
}

pub async fn get(db: &SqlitePool, secrets: &SecretBox, id: i64) -> Result<ContactPoint, Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM contact_points WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?;
    from_row(
        row.ok_or_else(|| Error::not_found(format!("contact point {id}")))?,
        secrets,
    )
}

/// Creates (`id` None) or updates a contact point; a rename is refused while the
/// notification policy routes to the old name.
pub async fn save(
    db: &SqlitePool,
    metrics: &Metrics,
    secrets: &SecretBox,
    allow_link_local: bool,
    actor: &Actor,
    id: Option<i64>,
    body: ContactPointBody,
) -> Result<ContactPoint, Error> {
    let existing = match id {
        Some(id) => Some(get(db, secrets, id).await?),
        None => None,
    };
    let settings = validate(
        &body,
        existing.as_ref().map(|e| &e.settings),
        allow_link_local,
        true,
    )?;
    let name = body.name.trim().to_owned();
    let (public, secret) = settings.split();
    let sealed = secret.map(|s| secrets.seal(&s.to_string()));
    let send_resolved = body.send_resolved.unwrap_or(true);
    let mut tx = crate::db::begin_write(db).await?;
    let now = crate::db::now();
    let new_id = match &existing {
        None => sqlx::query_scalar(
            "INSERT INTO contact_points (name, type, settings, secret, send_resolved, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&name)
        .bind(settings.kind())
        .bind(public.to_string())
        .bind(&sealed)
        .bind(send_resolved)
        .bind(&now)
        .bind(&actor.login)
        .fetch_one(&mut *tx)
        .await
        .map_err(crate::error::unique_violation("name", "another contact point has this name"))?,
        Some(e) => {
            let version = body.version.ok_or_else(|| {
                Error::invalid("version", "send the version you edited (optimistic locking)")
            })?;
            if version != e.version {
                return Err(Error::version_conflict(
                    "the contact point was changed since you loaded it",
                    e.view(),
                ));
            }
            if e.name != name
                && super::policy::receivers_in_use(&mut tx).await?.contains(&e.name)
            {
                return Err(Error::conflict(
                    "name",
                    format!("the notification policy routes to `{}`; change the policy first", e.name),
                ));
            }
            if e.name != name
                && super::escalation::contact_points_in_use(&mut tx).await?.contains(&e.name)
            {
                return Err(Error::conflict(
                    "name",
                    format!("an escalation policy sends to `{}`; change it first", e.name),
                ));
            }
            sqlx::query(
                "UPDATE contact_points SET name = ?, type = ?, settings = ?, secret = ?, send_resolved = ?, version = version + 1, updated_at = ?, updated_by = ? WHERE id = ?",
            )
            .bind(&name)
            .bind(settings.kind())
            .bind(public.to_string())
            .bind(&sealed)
            .bind(send_resolved)
            .bind(&now)
            .bind(&actor.login)
            .bind(e.id)
            .execute(&mut *tx)
            .await
            .map_err(crate::error::unique_violation("name", "another contact point has this name"))?;
            e.id
        }
    };
    let saved: Row = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM contact_points WHERE id = ?"
    ))
    .bind(new_id)
    .fetch_one(&mut *tx)
    .await?;
    let saved = from_row(saved, secrets)?;
    let action = if existing.is_some() {
        "contact_point.update"
    } else {
        "contact_point.create"
    };
    let rec = crate::audit::record(
        &mut tx,
        actor,
        action,
        "contact_point",
        new_id,
        existing.map(|e| e.view()),
        Some(saved.view()),
    )
    .await?;
    crate::audit::commit(tx, metrics, rec).await?;
    Ok(saved)
}

/// Deletes a contact point the notification policy does not route to.
pub async fn delete(
    db: &SqlitePool,
    metrics: &Metrics,
    secrets: &SecretBox,
    actor: &Actor,
    id: i64,
) -> Result<(), Error> {
    let existing = get(db, secrets, id).await?;
    let mut tx = crate::db::begin_write(db).await?;
    if super::policy::receivers_in_use(&mut tx)
        .await?
        .contains(&existing.name)
    {
        return Err(Error::conflict(
            "name",
            format!(
                "the notification policy routes to `{}`; change the policy first",
                existing.name
            ),
        ));
    }
    if super::escalation::contact_points_in_use(&mut tx)
        .await?
        .contains(&existing.name)
    {
        return Err(Error::conflict(
            "name",
            format!(
                "an escalation policy sends to `{}`; change it first",
                existing.name
            ),
        ));
    }
    sqlx::query("DELETE FROM contact_points WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let rec = crate::audit::record(
        &mut tx,
        actor,
        "contact_point.delete",
        "contact_point",
        id,
        Some(existing.view()),
        None,
    )
    .await?;
    crate::audit::commit(tx, metrics, rec).await?;
    Ok(())
}

/// The seed's two channels, provisioned once and disabled until an admin fills in Slack's
/// webhook URL and the SMTP server.
pub async fn provision(db: &SqlitePool) -> Result<(), Error> {
    let seeds = [
        (
            "keiko-slack",
            "slack",
            json!({ "channel": "#keiko-alerts" }),
        ),
        (
            "keiko-email",
            "email",
            json!({ "to": ["keiko-team@company.com"], "from": "keiko-portal@company.com", "smarthost": null, "username": "", "tls": "starttls" }),
        ),
    ];
    for (name, kind, settings) in seeds {
        sqlx::query(
            "INSERT INTO contact_points (name, type, settings, secret, send_resolved, provisioned, updated_at, updated_by) \
             SELECT ?, ?, ?, NULL, 1, 1, ?, 'provisioning' WHERE NOT EXISTS (SELECT 1 FROM contact_points WHERE provisioned = 1 AND name = ?) \
             AND NOT EXISTS (SELECT 1 FROM notification_policy)",
        )
        .bind(name)
        .bind(kind)
        .bind(settings.to_string())
        .bind(crate::db::now())
        .bind(name)
        .execute(db)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(kind: &str, settings: Value) -> ContactPointBody {
        ContactPointBody {
            name: "x".into(),
            kind: kind.into(),
            settings,
            send_resolved: None,
            version: None,
        }
    }

    fn field(r: Result<Settings, Error>) -> String {
        r.unwrap_err().field().unwrap_or_default().to_owned()
    }

    #[test]
    fn bad_settings_name_their_field() {
        let v = |k, s| validate(&body(k, s), None, false, true);
        assert_eq!(
            field(v("webhook", json!({"url": "http://169.254.169.254/"}))),
            "settings.url"
        );
        assert_eq!(field(v("webhook", json!({}))), "settings.url");
        assert_eq!(field(v("pager", json!({}))), "type");
        assert_eq!(
            field(v("slack", json!({"url": "http://h/", "colour": 1}))),
            "settings.colour"
        );
        let email = |extra: Value| {
            let mut s = json!({"to": "a@b.example", "from": "p@b.example", "smarthost": "mail:25"});
            for (k, x) in extra.as_object().unwrap() {
                s[k] = x.clone();
            }
            v("email", s)
        };
        assert!(email(json!({})).is_ok());
        assert_eq!(
            field(email(json!({"smarthost": "mail"}))),
            "settings.smarthost"
        );
        assert_eq!(
            field(email(json!({"smarthost": "mail:99999"}))),
            "settings.smarthost"
        );
        assert_eq!(field(email(json!({"tls": "ssl"}))), "settings.tls");
        assert_eq!(field(email(json!({"to": "not an address"}))), "settings.to");
        assert_eq!(field(email(json!({"password": "pw"}))), "settings.username");
        assert_eq!(
            field(v("alertmanager", json!({"urls": ["http://a/", "ftp://b"]}))),
            "settings.urls[1]"
        );
    }

    #[test]
    fn secrets_are_kept_when_left_out_and_never_shown() {
        let old = Settings::Slack {
            url: Some("https://hooks.slack.example/T/B/secret".into()),
            channel: "#a".into(),
        };
        let s = validate(
            &body("slack", json!({"channel": "#b"})),
            Some(&old),
            false,
            true,
        )
        .unwrap();
        assert_eq!(
            s,
            Settings::Slack {
                url: Some("https://hooks.slack.example/T/B/secret".into()),
                channel: "#b".into()
            }
        );
        let cp = ContactPoint {
            id: 1,
            name: "x".into(),
            settings: s,
            send_resolved: true,
            provisioned: false,
            version: 1,
            updated_at: String::new(),
        };
        let view = cp.view().to_string();
        assert!(!view.contains("secret"), "{view}");
        assert!(view.contains("\"secure_fields\":[\"url\"]"));
    }
}
