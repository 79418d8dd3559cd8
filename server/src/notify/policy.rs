//! The notification policy: one routing tree in Alertmanager's `route` shape and its
//! `inhibit_rules`, versioned (a stale version is a conflict, as rule groups are). Routing
//! follows Alertmanager: an alert descends into the first child whose matchers match (and on
//! into later siblings while a matched child says `continue`); a route no child takes it from
//! handles it itself. Options are inherited from the parent.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::matchers::{self, Labels, Matcher};
use super::time_intervals;
pub use super::time_intervals::TimeInterval;
use crate::actor::Actor;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::promql_syntax::duration::PromDuration;

fn is_false(b: &bool) -> bool {
    !*b
}

/// A route as written (Alertmanager's configuration shape).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// A contact point's name; inherited from the parent when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// Labels the alerts are grouped by; `["..."]` groups by all labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<String>>,
    /// Matchers like `severity="critical"`, all of which must match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<String>,
    /// How long a new group waits for more alerts before its first notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<String>,
    /// How long a group waits before notifying of changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<String>,
    /// How long before an unchanged group is notified again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<String>,
    /// Whether later siblings are tried after this route matched.
    #[serde(default, rename = "continue", skip_serializing_if = "is_false")]
    pub continue_: bool,
    /// Child routes, tried in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    /// Names of `time_intervals` during which this route sends nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mute_time_intervals: Vec<String>,
}

/// Alertmanager's inhibition rule: a firing source alert mutes the target alerts that
/// carry the same values of the `equal` labels.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRule {
    #[serde(default)]
    pub source_matchers: Vec<String>,
    #[serde(default)]
    pub target_matchers: Vec<String>,
    #[serde(default)]
    pub equal: Vec<String>,
}

/// The document `GET|PUT /api/v1/notification-policies` carries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDoc {
    pub route: Route,
    #[serde(default)]
    pub inhibit_rules: Vec<InhibitRule>,
    #[serde(default)]
    pub time_intervals: Vec<TimeInterval>,
    /// The version edited (PUT) or stored (GET).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// Timing of one route, its parent's filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Opts {
    pub receiver: String,
    /// `None`: group by all labels.
    pub group_by: Option<Vec<String>>,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
    pub mute: Vec<String>,
}

/// A validated route.
#[derive(Clone, Debug)]
pub struct Node {
    pub matchers: Vec<Matcher>,
    pub continue_: bool,
    pub opts: Opts,
    /// Alertmanager's route key: the matchers of every route from the root, `{…}/{…}`.
    pub key: String,
    /// Where the route sits (`route.routes[1]`): two routes may share a key, never this.
    pub path: String,
    pub children: Vec<Node>,
}

/// A validated inhibition rule.
#[derive(Clone, Debug)]
pub struct Inhibit {
    pub source: Vec<Matcher>,
    pub target: Vec<Matcher>,
    pub equal: Vec<String>,
}

/// The policy the dispatcher follows.
#[derive(Clone, Debug)]
pub struct Policy {
    pub root: Node,
    pub inhibit: Vec<Inhibit>,
    pub time_intervals: Vec<TimeInterval>,
}

fn duration(field: &str, raw: Option<&str>, inherited: Duration) -> Result<Duration, Error> {
    match raw {
        None => Ok(inherited),
        Some(r) => {
            let d = PromDuration::parse(r).map_err(|m| Error::invalid(field, m))?;
            Ok(Duration::from_millis(d.millis()))
        }
    }
}

const MAX_DEPTH: usize = 16;
const MAX_ROUTES: usize = 1000;

fn build(
    route: &Route,
    path: &str,
    parent: Option<(&Opts, &str)>,
    ctx: &mut Build<'_>,
    depth: usize,
) -> Result<Node, Error> {
    ctx.count += 1;
    if depth > MAX_DEPTH || ctx.count > MAX_ROUTES {
        return Err(Error::invalid(
            path,
            format!("at most {MAX_DEPTH} levels and {MAX_ROUTES} routes"),
        ));
    }
    let mut ms = matchers::parse_all(&format!("{path}.matchers"), &route.matchers)?;
    if parent.is_none() && !ms.is_empty() {
        return Err(Error::invalid(
            format!("{path}.matchers"),
            "the root route matches every alert; it has no matchers",
        ));
    }
    if parent.is_none() && route.continue_ {
        return Err(Error::invalid(
            format!("{path}.continue"),
            "the root route cannot continue",
        ));
    }
    ms.sort_by(|a, b| a.name.cmp(&b.name).then(a.value.cmp(&b.value)));
    let receiver = match (&route.receiver, parent) {
        (Some(r), _) => {
            if !ctx.receivers.contains(r) {
                return Err(Error::invalid(
                    format!("{path}.receiver"),
                    format!("no contact point is named `{r}`"),
                ));
            }
            r.clone()
        }
        (None, Some((p, _))) => p.receiver.clone(),
        (None, None) => {
            return Err(Error::invalid(
                format!("{path}.receiver"),
                "the root route needs a receiver",
            ))
        }
    };
    let group_by = match &route.group_by {
        Some(g) if g.iter().any(|l| l == "...") => {
            if g.len() > 1 {
                return Err(Error::invalid(
                    format!("{path}.group_by"),
                    "`...` stands alone",
                ));
            }
            None
        }
        Some(g) => {
            for (i, l) in g.iter().enumerate() {
                Matcher::new(l, matchers::Op::Equal, "")
                    .map_err(|m| Error::invalid(format!("{path}.group_by[{i}]"), m))?;
            }
            Some(g.clone())
        }
        None => parent
            .map(|(p, _)| p.group_by.clone())
            .unwrap_or(Some(Vec::new())),
    };
    for (i, name) in route.mute_time_intervals.iter().enumerate() {
        if !ctx.intervals.contains(name) {
            return Err(Error::invalid(
                format!("{path}.mute_time_intervals[{i}]"),
                format!("no time interval is named `{name}`"),
            ));
        }
    }
    let inherited = parent.map(|(p, _)| p.clone());
    let opts = Opts {
        receiver,
        group_by,
        group_wait: duration(
            &format!("{path}.group_wait"),
            route.group_wait.as_deref(),
            inherited
                .as_ref()
                .map_or(Duration::from_secs(30), |p| p.group_wait),
        )?,
        group_interval: duration(
            &format!("{path}.group_interval"),
            route.group_interval.as_deref(),
            inherited
                .as_ref()
                .map_or(Duration::from_secs(300), |p| p.group_interval),
        )?,
        repeat_interval: duration(
            &format!("{path}.repeat_interval"),
            route.repeat_interval.as_deref(),
            inherited
                .as_ref()
                .map_or(Duration::from_secs(4 * 3600), |p| p.repeat_interval),
        )?,
        mute: route.mute_time_intervals.clone(),
    };
    if opts.group_interval.is_zero() || opts.repeat_interval.is_zero() {
        return Err(Error::invalid(
            format!("{path}.group_interval"),
            "group_interval and repeat_interval must be above zero",
        ));
    }
    let own = format!(
        "{{{}}}",
        ms.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    let key = match parent {
        Some((_, parent_key)) => format!("{parent_key}/{own}"),
        None => own,
    };
    let children = route
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            build(
                r,
                &format!("{path}.routes[{i}]"),
                Some((&opts, &key)),
                ctx,
                depth + 1,
            )
        })
        .collect::<Result<_, _>>()?;
    Ok(Node {
        matchers: ms,
        continue_: route.continue_,
        opts,
        key,
        path: path.to_owned(),
        children,
    })
}

struct Build<'a> {
    receivers: &'a BTreeSet<String>,
    intervals: BTreeSet<String>,
    count: usize,
}

/// Validates a policy document against the contact points' names.
pub fn validate(doc: &PolicyDoc, receivers: &BTreeSet<String>) -> Result<Policy, Error> {
    let intervals = time_intervals::validate(&doc.time_intervals)?;
    let mut ctx = Build {
        receivers,
        intervals,
        count: 0,
    };
    let root = build(&doc.route, "route", None, &mut ctx, 0)?;
    let inhibit = doc
        .inhibit_rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let path = format!("inhibit_rules[{i}]");
            for (j, l) in r.equal.iter().enumerate() {
                Matcher::new(l, matchers::Op::Equal, "")
                    .map_err(|m| Error::invalid(format!("{path}.equal[{j}]"), m))?;
            }
            Ok(Inhibit {
                source: matchers::parse_all(
                    &format!("{path}.source_matchers"),
                    &r.source_matchers,
                )?,
                target: matchers::parse_all(
                    &format!("{path}.target_matchers"),
                    &r.target_matchers,
                )?,
                equal: r.equal.clone(),
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Policy {
        root,
        inhibit,
        time_intervals: doc.time_intervals.clone(),
    })
}

impl Policy {
    /// The routes that take an alert with `labels` (Alertmanager's `Route.Match`).
    pub fn routes_for<'a>(&'a self, labels: &Labels) -> Vec<&'a Node> {
        let mut out = Vec::new();
        route_match(&self.root, labels, &mut out);
        out
    }

    /// Whether the named time intervals hold at `now`.
    pub fn muted(&self, names: &[String], now: chrono::DateTime<chrono::Utc>) -> bool {
        time_intervals::holds(&self.time_intervals, names, now)
    }
}

fn route_match<'a>(node: &'a Node, labels: &Labels, out: &mut Vec<&'a Node>) -> bool {
    if !matchers::all_match(&node.matchers, labels) {
        return false;
    }
    let before = out.len();
    for child in &node.children {
        if route_match(child, labels, out) && !child.continue_ {
            break;
        }
    }
    if out.len() == before {
        out.push(node);
    }
    true
}

/// The policy shipped on a fresh start: everything to the seed's Slack channel, critical
/// alerts also by e-mail.
pub fn default_doc() -> PolicyDoc {
    PolicyDoc {
        route: Route {
            receiver: Some("keiko-slack".into()),
            group_by: Some(vec!["alertname".into()]),
            routes: vec![
                Route {
                    receiver: Some("keiko-email".into()),
                    matchers: vec![r#"severity="critical""#.into()],
                    continue_: true,
                    ..Default::default()
                },
                Route {
                    receiver: Some("keiko-slack".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The stored document with its version.
pub async fn load(db: &SqlitePool) -> Result<PolicyDoc, Error> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT version, spec FROM notification_policy WHERE id = 1")
            .fetch_optional(db)
            .await?;
    Ok(match row {
        Some((version, spec)) => {
            let mut doc: PolicyDoc = serde_json::from_str(&spec).map_err(Error::internal)?;
            doc.version = Some(version);
            doc
        }
        None => PolicyDoc {
            version: Some(0),
            ..default_doc()
        },
    })
}

/// Writes the default policy if none is stored.
pub async fn provision(db: &SqlitePool) -> Result<(), Error> {
    sqlx::query("INSERT OR IGNORE INTO notification_policy (id, version, spec, updated_at, updated_by) VALUES (1, 1, ?, ?, 'provisioning')")
        .bind(serde_json::to_string(&default_doc()).map_err(Error::internal)?)
        .bind(crate::db::now())
        .execute(db)
        .await?;
    Ok(())
}

/// Receivers the stored policy names (a contact point in this set is not deleted or renamed).
pub async fn receivers_in_use(tx: &mut Transaction<'_, Sqlite>) -> Result<BTreeSet<String>, Error> {
    let spec: Option<String> =
        sqlx::query_scalar("SELECT spec FROM notification_policy WHERE id = 1")
            .fetch_optional(&mut **tx)
            .await?;
    let mut out = BTreeSet::new();
    if let Some(doc) = spec.and_then(|s| serde_json::from_str::<PolicyDoc>(&s).ok()) {
        let mut stack = vec![&doc.route];
        while let Some(r) = stack.pop() {
            out.extend(r.receiver.clone());
            stack.extend(r.routes.iter());
        }
    }
    Ok(out)
}

/// Saves `doc` if `doc.version` is the stored one; returns the saved document.
pub async fn save(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    doc: PolicyDoc,
) -> Result<(PolicyDoc, Policy), Error> {
    let expected = doc.version.ok_or_else(|| {
        Error::invalid(
            "version",
            "send the version you edited (optimistic locking)",
        )
    })?;
    let mut tx = crate::db::begin_write(db).await?;
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM contact_points")
        .fetch_all(&mut *tx)
        .await?;
    let policy = validate(&doc, &names.into_iter().collect())?;
    let current: Option<(i64, String)> =
        sqlx::query_as("SELECT version, spec FROM notification_policy WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await?;
    let current_version = current.as_ref().map_or(0, |c| c.0);
    if current_version != expected {
        let mut stored = load(db).await?;
        stored.version = Some(current_version);
        return Err(Error::version_conflict(
            "the policy was changed since you loaded it; compare with the current version",
            stored,
        ));
    }
    let mut saved = doc.clone();
    saved.version = None;
    let spec = serde_json::to_string(&saved).map_err(Error::internal)?;
    let version = current_version + 1;
    sqlx::query("INSERT INTO notification_policy (id, version, spec, updated_at, updated_by) VALUES (1, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET version = excluded.version, spec = excluded.spec, updated_at = excluded.updated_at, updated_by = excluded.updated_by")
        .bind(version)
        .bind(&spec)
        .bind(crate::db::now())
        .bind(&actor.login)
        .execute(&mut *tx)
        .await?;
    let before = current.and_then(|c| serde_json::from_str::<Value>(&c.1).ok());
    let rec = crate::audit::record(
        &mut tx,
        actor,
        "notification_policy.update",
        "notification_policy",
        1,
        before,
        Some(json!(saved)),
    )
    .await?;
    crate::audit::commit(tx, metrics, rec).await?;
    saved.version = Some(version);
    Ok((saved, policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receivers() -> BTreeSet<String> {
        ["a", "b", "c"].iter().map(|s| s.to_string()).collect()
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn routing_follows_alertmanager_first_match_and_continue() {
        let doc: PolicyDoc = serde_json::from_value(json!({
            "route": {"receiver": "a", "group_by": ["alertname"], "routes": [
                {"receiver": "b", "matchers": ["severity=\"critical\""], "continue": true, "group_wait": "1s"},
                {"receiver": "c", "matchers": ["team=~\"keiko|ops\""]},
                {"receiver": "a", "matchers": ["team=\"keiko\""]}
            ]}
        }))
        .unwrap();
        let p = validate(&doc, &receivers()).unwrap();
        let r = |l| {
            p.routes_for(&labels(l))
                .iter()
                .map(|n| n.opts.receiver.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            r(&[("severity", "critical"), ("team", "keiko")]),
            ["b", "c"]
        );
        assert_eq!(r(&[("severity", "warning")]), ["a"]);
        let crit = &p.routes_for(&labels(&[("severity", "critical")]))[0];
        assert_eq!(crit.key, r#"{}/{severity="critical"}"#);
        assert_eq!(crit.opts.group_wait, Duration::from_secs(1));
        assert_eq!(crit.opts.group_interval, Duration::from_secs(300));
        assert_eq!(crit.opts.group_by, Some(vec!["alertname".to_owned()]));
    }

    #[test]
    fn bad_trees_name_the_field() {
        let bad = |v: Value| {
            validate(&serde_json::from_value(v).unwrap(), &receivers())
                .unwrap_err()
                .field()
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            bad(json!({"route": {"receiver": "nobody"}})),
            "route.receiver"
        );
        assert_eq!(
            bad(json!({"route": {"receiver": "a", "routes": [{"matchers": ["sev~\"x\""]}]}})),
            "route.routes[0].matchers[0]"
        );
        assert_eq!(
            bad(json!({"route": {"receiver": "a", "group_wait": "soon"}})),
            "route.group_wait"
        );
        assert_eq!(
            bad(json!({"route": {"receiver": "a", "mute_time_intervals": ["nights"]}})),
            "route.mute_time_intervals[0]"
        );
        assert_eq!(
            bad(
                json!({"route": {"receiver": "a"}, "inhibit_rules": [{"source_matchers": ["a=~\"(\""]}]})
            ),
            "inhibit_rules[0].source_matchers[0]"
        );
    }
}
