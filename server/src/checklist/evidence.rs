//! Evidence the portal checks itself: one check per kind of evidence, evaluated on a
//! schedule and on demand, each result stored with what was found and when. A check whose
//! data arrives with a later capability says so and never makes up a result.

use serde::Serialize;
use sqlx::SqlitePool;

use crate::http::errors::ApiError;
use crate::identity::now;
use crate::sources::store::Access;
use crate::sources::InstantQuery;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Verified,
    Failing,
    /// The portal has no data to decide yet (e.g. no log source).
    Unverifiable,
}

impl Status {
    fn as_str(&self) -> &'static str {
        match self {
            Status::Verified => "verified",
            Status::Failing => "failing",
            Status::Unverifiable => "unverifiable",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    pub check: String,
    pub status: Status,
    /// What was found, in words.
    pub detail: String,
    pub checked_at: String,
    /// When the check last turned from verified (or unknown) to failing.
    pub failing_since: Option<String>,
}

/// Every check the portal knows, with its description.
pub const CHECKS: &[(&str, &str)] = &[
    ("alert_rules_defined", "at least one alerting rule exists"),
    (
        "custom_metrics",
        "a metrics source returns series with the keiko_ prefix",
    ),
    (
        "system_metrics",
        "a metrics source returns process_cpu_seconds_total or node metrics",
    ),
    ("overview_dashboard", "a dashboard tagged `overview` exists"),
    (
        "correlation_id_logs",
        "logs with a correlation_id arrive from a log source",
    ),
    ("recent_spans", "spans were received in the last 24 h"),
    (
        "notification_channel_tested",
        "a notification channel's last test succeeded",
    ),
];

/// Whether any metrics source holds series matching `selector` (a PromQL instant query
/// whose result counts them).
async fn metrics_check(
    db: &SqlitePool,
    access: Option<&Access>,
    query: &str,
    what: &str,
) -> Result<(Status, String), ApiError> {
    let Some(access) = access else {
        return Ok((
            Status::Unverifiable,
            "checked on the schedule and on request only".into(),
        ));
    };
    let sources = access.all(db).await?;
    if sources.is_empty() {
        return Ok((
            Status::Unverifiable,
            "cannot verify yet — no metrics data source is configured".into(),
        ));
    }
    let mut problems = Vec::new();
    for (row, client) in sources {
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!("{}: {e}", row.name));
                continue;
            }
        };
        let q = InstantQuery {
            query: query.to_owned(),
            ..Default::default()
        };
        match client.query(&q).await {
            Ok(data) => {
                let n = data["result"][0]["value"][1]
                    .as_str()
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0);
                if n > 0.0 {
                    return Ok((
                        Status::Verified,
                        format!("{n} {what} series in data source “{}”", row.name),
                    ));
                }
                problems.push(format!("{}: no {what} series", row.name));
            }
            Err(e) => problems.push(format!("{}: {e}", row.name)),
        }
    }
    Ok((Status::Failing, problems.join("; ")))
}

async fn run_check(
    db: &SqlitePool,
    access: Option<&Access>,
    check: &str,
) -> Result<(Status, String), ApiError> {
    Ok(match check {
        "alert_rules_defined" => {
            let n = crate::rules::store::alert_rule_count(db).await?;
            if n > 0 {
                (Status::Verified, format!("{n} alerting rule(s) defined"))
            } else {
                (Status::Failing, "no alerting rule is defined".into())
            }
        }
        "custom_metrics" => {
            metrics_check(db, access, "count({__name__=~\"keiko_.+\"})", "keiko_*").await?
        }
        "system_metrics" => {
            metrics_check(
                db,
                access,
                "count(process_cpu_seconds_total or node_cpu_seconds_total)",
                "process/node",
            )
            .await?
        }
        "overview_dashboard" => {
            let tagged: Vec<String> = crate::dashboards::store::list(
                db,
                0,
                &crate::dashboards::store::Filter {
                    tag: Some("overview".into()),
                    ..Default::default()
                },
            )
            .await?
            .into_iter()
            .map(|d| d.title)
            .collect();
            if tagged.is_empty() {
                (Status::Failing, "no dashboard is tagged `overview`".into())
            } else {
                (
                    Status::Verified,
                    format!("tagged `overview`: {}", tagged.join(", ")),
                )
            }
        }
        "correlation_id_logs" => (
            Status::Unverifiable,
            "cannot verify yet — no log source".into(),
        ),
        "recent_spans" => (
            Status::Unverifiable,
            "cannot verify yet — no trace source".into(),
        ),
        "notification_channel_tested" => (
            Status::Unverifiable,
            "cannot verify yet — no notification channel".into(),
        ),
        other => (Status::Unverifiable, format!("unknown check `{other}`")),
    })
}

/// Checks that ask external stores: they run on the schedule and on request, never while
/// a page is being read (a slow source would hold the page for its timeout).
const ASKS_SOURCES: &[&str] = &["custom_metrics", "system_metrics"];

/// Runs every check and stores the results; returns them.
pub async fn evaluate_all(db: &SqlitePool, access: &Access) -> Result<Vec<Evidence>, ApiError> {
    evaluate(db, Some(access)).await
}

/// For pages: the checks on the portal's own data run now; those that ask sources give
/// their last stored result.
pub async fn on_read(db: &SqlitePool) -> Result<Vec<Evidence>, ApiError> {
    evaluate(db, None).await
}

async fn evaluate(db: &SqlitePool, access: Option<&Access>) -> Result<Vec<Evidence>, ApiError> {
    let mut out = Vec::new();
    for (check, _) in CHECKS {
        let (status, detail) = match access {
            None if ASKS_SOURCES.contains(check) => {
                out.push(stored(db, check).await?);
                continue;
            }
            _ => run_check(db, access, check).await?,
        };
        let at = now();
        let previous: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT status, failing_since FROM evidence_results WHERE check_name = ?",
        )
        .bind(check)
        .fetch_optional(db)
        .await?;
        let failing_since = match (&status, previous) {
            (Status::Failing, Some((old, since))) if old == "failing" => since.or(Some(at.clone())),
            (Status::Failing, _) => Some(at.clone()),
            _ => None,
        };
        sqlx::query(
            "INSERT INTO evidence_results (check_name, status, detail, checked_at, failing_since) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (check_name) DO UPDATE SET status = excluded.status, detail = excluded.detail, \
             checked_at = excluded.checked_at, failing_since = excluded.failing_since",
        )
        .bind(check)
        .bind(status.as_str())
        .bind(&detail)
        .bind(&at)
        .bind(&failing_since)
        .execute(db)
        .await?;
        out.push(Evidence {
            check: (*check).to_owned(),
            status,
            detail,
            checked_at: at,
            failing_since,
        });
    }
    Ok(out)
}

/// The last stored result of `check`, or "not checked yet".
async fn stored(db: &SqlitePool, check: &str) -> Result<Evidence, ApiError> {
    let row: Option<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT status, detail, checked_at, failing_since FROM evidence_results WHERE check_name = ?",
    )
    .bind(check)
    .fetch_optional(db)
    .await?;
    Ok(match row {
        Some((status, detail, checked_at, failing_since)) => Evidence {
            check: check.to_owned(),
            status: match status.as_str() {
                "verified" => Status::Verified,
                "failing" => Status::Failing,
                _ => Status::Unverifiable,
            },
            detail,
            checked_at,
            failing_since,
        },
        None => Evidence {
            check: check.to_owned(),
            status: Status::Unverifiable,
            detail: "not checked yet — checks run every 5 minutes or on request".into(),
            checked_at: now(),
            failing_since: None,
        },
    })
}

/// Re-evaluates every `interval` until the process ends.
pub fn spawn_schedule(db: SqlitePool, access: Access, interval: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            if let Err(err) = evaluate_all(&db, &access).await {
                tracing::warn!(error = %err, error_type = "EvidenceError", "Evaluating checklist evidence failed");
            }
        }
    });
}
