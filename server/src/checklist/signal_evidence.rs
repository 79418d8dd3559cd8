//! Evidence from the portal's alerting configuration and from the log store: "Notification-
//! Channels konfiguriert" (a contact point delivered), "Escalation-Policies implementiert"
//! (a policy with steps whose contact points exist), "Correlation-IDs für
//! Request-Tracking aktiviert" (log lines with a `correlation_id` from the team's services)
//! and "Distributed Tracing aktiviert" (spans from the team's services).

use std::sync::Arc;

use sqlx::SqlitePool;

use super::evidence::Status;
use super::ownership::Ownership;
use crate::error::Error;
use crate::sources::logs::{LogQuery, LogSource};
use crate::sources::traces::{TraceQuery, TraceSource};

/// How far back the log check looks.
const LOG_WINDOW_SECS: f64 = 24.0 * 3600.0;

/// Verified when a contact point's latest delivery — a "send test" or a notification — was
/// sent; the detail names each contact point's latest outcome. Contact points are the
/// portal's, not a team's, so every team sees the same answer.
pub(super) async fn notification_channel_tested(
    db: &SqlitePool,
) -> Result<(Status, String), Error> {
    let points: Vec<(String, String)> =
        sqlx::query_as("SELECT name, type FROM contact_points ORDER BY name")
            .fetch_all(db)
            .await?;
    if points.is_empty() {
        return Ok((
            Status::Failing,
            "no contact point exists; add one under Alerting → Contact points".into(),
        ));
    }
    let mut sent = Vec::new();
    let mut other = Vec::new();
    for (name, kind) in points {
        let last: Option<(String, String, String, String)> = sqlx::query_as(
            "SELECT at, outcome, group_key, answer FROM notification_log WHERE receiver = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(&name)
        .fetch_optional(db)
        .await?;
        match last {
            Some((at, outcome, key, _)) if outcome == "sent" => {
                let what = if key.contains("/test:") {
                    "test"
                } else {
                    "notification"
                };
                sent.push(format!("“{name}” ({kind}): {what} sent at {at}"));
            }
            Some((at, _, _, answer)) => other.push(format!(
                "“{name}” ({kind}): last delivery failed at {at}: {answer}"
            )),
            None => other.push(format!("“{name}” ({kind}): never sent (use “Send test”)")),
        }
    }
    let status = if sent.is_empty() {
        Status::Failing
    } else {
        Status::Verified
    };
    Ok((
        status,
        sent.into_iter().chain(other).collect::<Vec<_>>().join("; "),
    ))
}

/// Verified when an escalation policy has at least one step and every step names a contact
/// point that exists; the detail lists each policy's steps per severity. Policies are the
/// portal's, so every team sees the same answer.
pub(super) async fn escalation_policy_defined(db: &SqlitePool) -> Result<(Status, String), Error> {
    let policies: Vec<(String, String)> =
        sqlx::query_as("SELECT name, steps FROM escalation_policies ORDER BY name")
            .fetch_all(db)
            .await?;
    if policies.is_empty() {
        return Ok((
            Status::Failing,
            "no escalation policy exists; add one under Alerting → Escalation".into(),
        ));
    }
    let points: Vec<String> = sqlx::query_scalar("SELECT name FROM contact_points")
        .fetch_all(db)
        .await?;
    let mut complete = Vec::new();
    let mut problems = Vec::new();
    for (name, steps) in policies {
        let steps: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&steps).unwrap_or_default();
        let mut described = Vec::new();
        let mut missing = Vec::new();
        for (severity, list) in &steps {
            let list = list.as_array().map(Vec::as_slice).unwrap_or_default();
            let chain: Vec<String> = list
                .iter()
                .map(|s| {
                    let cp = s["contact_point"].as_str().unwrap_or_default();
                    if !points.iter().any(|p| p == cp) {
                        missing.push(cp.to_owned());
                    }
                    match s["after"].as_str().unwrap_or("0s") {
                        "0s" | "0m" | "0" => format!("{cp} now"),
                        after => format!("{cp} after {after}"),
                    }
                })
                .collect();
            if !chain.is_empty() {
                described.push(format!("{severity}: {}", chain.join(", ")));
            }
        }
        if described.is_empty() {
            problems.push(format!("“{name}” has no steps"));
        } else if !missing.is_empty() {
            problems.push(format!(
                "“{name}” names missing contact points {}",
                missing.join(", ")
            ));
        } else {
            complete.push(format!("“{name}” — {}", described.join("; ")));
        }
    }
    let status = if complete.is_empty() {
        Status::Failing
    } else {
        Status::Verified
    };
    Ok((
        status,
        complete
            .into_iter()
            .chain(problems)
            .collect::<Vec<_>>()
            .join("; "),
    ))
}

/// Traces counted per service, at most (the count says "at least" past it).
const TRACES_PER_SERVICE: usize = 100;

/// Verified when the trace source holds spans from a service the team owns in the last 24
/// hours; the detail counts traces and spans per service.
pub(super) async fn recent_spans(
    traces: Result<&Arc<dyn TraceSource>, &str>,
    owned: &Ownership,
) -> (Status, String) {
    let traces = match traces {
        Ok(traces) => traces,
        Err(why) => return (Status::Unverifiable, format!("cannot verify — {why}")),
    };
    if let Some(why) = no_services(owned) {
        return why;
    }
    let end = unix_now();
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for service in &owned.services {
        let q = TraceQuery {
            service: Some(service.clone()),
            start: end - LOG_WINDOW_SECS,
            end: end + 1.0,
            limit: TRACES_PER_SERVICE,
            ..Default::default()
        };
        match traces.search(&q).await {
            Ok(answer) if !answer.traces.is_empty() => {
                let list = answer.traces;
                let spans: usize = list.iter().map(|t| t.span_count).sum();
                let at_least = if answer.partial || list.len() >= TRACES_PER_SERVICE {
                    "at least "
                } else {
                    ""
                };
                found.push(format!(
                    "{at_least}{} trace(s) with {spans} span(s) from service {service}",
                    list.len()
                ));
            }
            Ok(_) => {}
            Err(e) => errors.push(format!("{service}: {e}")),
        }
    }
    if !found.is_empty() {
        return (
            Status::Verified,
            format!("traces in the last 24 h: {}", found.join(", ")),
        );
    }
    let mut detail = format!(
        "no span from services {} in the last 24 h",
        owned.services.join(", ")
    );
    if !errors.is_empty() {
        detail.push_str(&format!("; the trace source failed: {}", errors.join("; ")));
    }
    (Status::Failing, detail)
}

/// "Cannot verify" when the team names no services for a store check to look for.
fn no_services(owned: &Ownership) -> Option<(Status, String)> {
    owned.services.is_empty().then(|| {
        (
            Status::Unverifiable,
            "cannot verify — the team names no services; add them under “What this team owns”"
                .into(),
        )
    })
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Verified when the log source holds lines with a `correlation_id` from a service the team
/// owns in the last 24 hours; the detail counts them per service.
pub(super) async fn correlation_id_logs(
    logs: Result<&Arc<dyn LogSource>, &str>,
    owned: &Ownership,
) -> (Status, String) {
    let logs = match logs {
        Ok(logs) => logs,
        Err(why) => return (Status::Unverifiable, format!("cannot verify — {why}")),
    };
    if let Some(why) = no_services(owned) {
        return why;
    }
    let end = unix_now();
    let services = owned
        .services
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(" OR ");
    let q = LogQuery {
        query: format!("correlation_id:* AND service:({services})"),
        start: end - LOG_WINDOW_SECS,
        end: end + 1.0,
        limit: owned.services.len().max(1),
        cursor: None,
    };
    match logs.field_values("service", &q).await {
        Ok(found) if !found.is_empty() => (
            Status::Verified,
            format!(
                "log lines with a correlation_id in the last 24 h: {}",
                found
                    .iter()
                    .map(|f| format!("{} from service {}", f.count, f.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Ok(_) => (
            Status::Failing,
            format!(
                "no log line with a correlation_id from services {} in the last 24 h",
                owned.services.join(", ")
            ),
        ),
        Err(e) => (Status::Failing, format!("the log source failed: {e}")),
    }
}
