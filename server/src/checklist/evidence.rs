//! Evidence the portal checks itself, per team: one check per kind of evidence, scoped to
//! what the team owns (its dashboards, rule namespaces and services), evaluated on a schedule
//! and on demand, each result stored with what was found, what is missing and when. A check
//! that cannot tell says "cannot verify" with the reason and never makes up a result.

use std::sync::Arc;

use sqlx::SqlitePool;

use super::ownership::{self, Ownership};
use super::signal_evidence;
use crate::db::now;
use crate::error::Error;
use crate::rules::namespace::Namespace;
use crate::sources::logs::LogSource;
use crate::sources::registry::SourceRegistry;
use crate::sources::store::SourceRow;
use crate::sources::traces::TraceSource;
use crate::sources::{InstantQuery, MetricsSource};

/// A check's result and its status, typed once for the server and the app.
pub use wire::checklist::{Evidence, EvidenceStatus as Status};

/// Every check the portal knows, with its description.
pub const CHECKS: &[(&str, &str)] = &[
    (
        "alert_rules_defined",
        "an alerting rule exists in a rule namespace the team owns",
    ),
    (
        "custom_metrics",
        "a metrics source returns keiko_* series from a service (job) the team owns",
    ),
    (
        "system_metrics",
        "a metrics source returns CPU, memory, disk and network series (node-exporter or OpenTelemetry host metrics) from the team's services",
    ),
    (
        "overview_dashboard",
        "a dashboard the team owns is tagged `overview` and has panels with queries",
    ),
    (
        "correlation_id_logs",
        "the log source holds lines with a correlation_id from the team's services (last 24 h)",
    ),
    (
        "recent_spans",
        "the trace source holds spans from the team's services (last 24 h)",
    ),
    (
        "notification_channel_tested",
        "a contact point's latest delivery (a test or a notification) was sent",
    ),
    (
        "escalation_policy_defined",
        "an escalation policy has steps, each naming a contact point that exists",
    ),
];

/// The four kinds of host series "System-Metriken (CPU, Memory, Disk, Network)" names, each
/// as the metric names node-exporter and OpenTelemetry's host metrics (as Prometheus
/// translates them) write.
const SYSTEM_KINDS: &[(&str, &str)] = &[
    (
        "CPU",
        "node_cpu_seconds_total|system_cpu_time_seconds_total|system_cpu_utilization_ratio",
    ),
    (
        "memory",
        "node_memory_MemAvailable_bytes|node_memory_MemTotal_bytes|system_memory_usage_bytes|system_memory_utilization_ratio",
    ),
    (
        "disk",
        "node_filesystem_avail_bytes|node_disk_read_bytes_total|node_disk_written_bytes_total|system_filesystem_usage_bytes|system_disk_io_bytes_total",
    ),
    (
        "network",
        "node_network_receive_bytes_total|node_network_transmit_bytes_total|node_netstat_Tcp_InSegs|node_netstat_Tcp_OutSegs|system_network_io_bytes_total",
    ),
];

/// A selector's `job=~"…"` value matching exactly `jobs` (names admitted by
/// `ownership::service_problem`, so `.` is the only character to escape).
fn jobs_regex(jobs: &[String]) -> String {
    jobs.iter()
        .map(|j| j.replace('.', "\\\\."))
        .collect::<Vec<_>>()
        .join("|")
}

/// Asks every metrics source `query` (a `count by (job) (…)`); returns per source either
/// the series count per job or the source's error.
async fn per_source_counts(
    sources: &Sources,
    query: &str,
) -> Vec<(String, Result<Vec<(String, f64)>, String>)> {
    let mut out = Vec::new();
    for (row, client) in sources {
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                out.push((row.name.clone(), Err(e.clone())));
                continue;
            }
        };
        let q = InstantQuery {
            query: query.to_owned(),
            ..Default::default()
        };
        let counts = client.query(&q).await.map(|data| {
            data["result"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let job = s["metric"]["job"].as_str().unwrap_or("").to_owned();
                    let n = s["value"][1]
                        .as_str()
                        .and_then(|v| v.parse::<f64>().ok())
                        .unwrap_or(0.0);
                    (job, n)
                })
                .filter(|(_, n)| *n > 0.0)
                .collect()
        });
        out.push((row.name.clone(), counts.map_err(|e| e.to_string())));
    }
    out
}

/// Every metrics source with its client (or why it has none), built once per evaluation
/// and shared by every team's checks.
type Sources = [(SourceRow, Result<Arc<dyn MetricsSource>, String>)];

/// The sources to ask for this team, or why a metrics check cannot run for it.
fn metrics_precondition<'a>(
    sources: Option<&'a Sources>,
    owned: &Ownership,
) -> Result<&'a Sources, String> {
    let Some(sources) = sources else {
        return Err("checked on the schedule and on request only".into());
    };
    if owned.services.is_empty() {
        Err("cannot verify — the team names no services (the `job` label values of what it runs, its exporters included); add them under “What this team owns”".into())
    } else if sources.is_empty() {
        Err("cannot verify — no metrics data source is configured".into())
    } else {
        Ok(sources)
    }
}

fn describe_jobs(found: &[(String, f64)]) -> String {
    found
        .iter()
        .map(|(job, n)| format!("{n} from job {job}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn custom_metrics(sources: Option<&Sources>, owned: &Ownership) -> (Status, String) {
    let sources = match metrics_precondition(sources, owned) {
        Ok(sources) => sources,
        Err(why) => return (Status::Unverifiable, why),
    };
    let query = format!(
        "count by (job) ({{__name__=~\"keiko_.+\", job=~\"{}\"}})",
        jobs_regex(&owned.services)
    );
    let mut problems = Vec::new();
    for (source, counts) in per_source_counts(sources, &query).await {
        match counts {
            Ok(found) if !found.is_empty() => {
                return (
                    Status::Verified,
                    format!(
                        "keiko_* series in data source “{source}”: {}",
                        describe_jobs(&found)
                    ),
                )
            }
            Ok(_) => problems.push(format!(
                "{source}: no keiko_* series from jobs {}",
                owned.services.join(", ")
            )),
            Err(e) => problems.push(format!("{source}: {e}")),
        }
    }
    (Status::Failing, problems.join("; "))
}

async fn system_metrics(sources: Option<&Sources>, owned: &Ownership) -> (Status, String) {
    let sources = match metrics_precondition(sources, owned) {
        Ok(sources) => sources,
        Err(why) => return (Status::Unverifiable, why),
    };
    let jobs = jobs_regex(&owned.services);
    // Per kind, the first source that has it; the check passes when all four are found.
    let mut found: Vec<Option<String>> = vec![None; SYSTEM_KINDS.len()];
    let mut errors = Vec::new();
    for (i, (kind, names)) in SYSTEM_KINDS.iter().enumerate() {
        let query = format!("count by (job) ({{__name__=~\"{names}\", job=~\"{jobs}\"}})");
        for (source, counts) in per_source_counts(sources, &query).await {
            match counts {
                Ok(series) if !series.is_empty() => {
                    found[i] = Some(format!("{kind}: {} (“{source}”)", describe_jobs(&series)));
                    break;
                }
                Ok(_) => {}
                Err(e) => errors.push(format!("{source}: {e}")),
            }
        }
    }
    let have: Vec<String> = found.iter().flatten().cloned().collect();
    let missing: Vec<&str> = SYSTEM_KINDS
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|((kind, _), _)| *kind)
        .collect();
    let mut detail = if have.is_empty() {
        format!(
            "no CPU, memory, disk or network series from jobs {}",
            owned.services.join(", ")
        )
    } else {
        format!("found {}", have.join("; "))
    };
    if !missing.is_empty() && !have.is_empty() {
        detail.push_str(&format!("; missing: {}", missing.join(", ")));
    }
    errors.dedup();
    if !errors.is_empty() {
        detail.push_str(&format!("; errors: {}", errors.join("; ")));
    }
    let status = if missing.is_empty() {
        Status::Verified
    } else {
        Status::Failing
    };
    (status, detail)
}

async fn alert_rules_defined(
    db: &SqlitePool,
    owned: &Ownership,
) -> Result<(Status, String), Error> {
    if owned.rule_namespaces.is_empty() {
        return Ok((
            Status::Failing,
            "the team owns no rule namespace; name its namespaces under “What this team owns”"
                .into(),
        ));
    }
    let mut counts = Vec::new();
    for ns in &owned.rule_namespaces {
        let Ok(ns) = Namespace::parse(ns) else {
            continue;
        };
        let n: usize = crate::rules::store::list_in(db, &ns)
            .await?
            .iter()
            .map(|g| g.spec.rules.iter().filter(|r| r.is_alert()).count())
            .sum();
        counts.push((ns, n));
    }
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    let detail = counts
        .iter()
        .map(|(ns, n)| format!("{n} in namespace {ns}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(if total > 0 {
        (Status::Verified, format!("alerting rules: {detail}"))
    } else {
        (Status::Failing, format!("no alerting rule: {detail}"))
    })
}

async fn overview_dashboard(db: &SqlitePool, owned: &Ownership) -> Result<(Status, String), Error> {
    if owned.dashboards.is_empty() {
        return Ok((
            Status::Failing,
            "the team owns no dashboard; name its dashboards under “What this team owns”".into(),
        ));
    }
    let mut seen = Vec::new();
    for uid in &owned.dashboards {
        let Ok(stored) = crate::dashboards::store::get(db, uid).await else {
            continue; // deleted since: evidence comes from what exists
        };
        let doc = &stored.dashboard;
        let tagged = doc.tags.iter().any(|t| t.eq_ignore_ascii_case("overview"));
        let queried = doc
            .panels
            .iter()
            .filter(|p| p.targets.iter().any(|t| !t.expr.trim().is_empty()))
            .count();
        if tagged && queried > 0 {
            return Ok((
                Status::Verified,
                format!(
                    "“{}” is tagged `overview` and has {queried} panel(s) with queries",
                    doc.title
                ),
            ));
        }
        seen.push(match (tagged, queried) {
            (false, _) => format!("“{}” is not tagged `overview`", doc.title),
            (true, _) => format!("“{}” has no panel with a query", doc.title),
        });
    }
    if seen.is_empty() {
        seen.push("none of the team's dashboards exists any more".into());
    }
    Ok((Status::Failing, seen.join("; ")))
}

/// The stores the source-asking checks read, reached once per evaluation.
struct Reach<'a> {
    metrics: &'a Sources,
    /// The default log source, or why there is none.
    logs: Result<Arc<dyn LogSource>, String>,
    /// The default trace source, or why there is none.
    traces: Result<Arc<dyn TraceSource>, String>,
}

async fn run_check(
    db: &SqlitePool,
    reach: Option<&Reach<'_>>,
    owned: &Ownership,
    check: &str,
) -> Result<(Status, String), Error> {
    let sources = reach.map(|r| r.metrics);
    Ok(match check {
        "alert_rules_defined" => alert_rules_defined(db, owned).await?,
        "custom_metrics" => custom_metrics(sources, owned).await,
        "system_metrics" => system_metrics(sources, owned).await,
        "overview_dashboard" => overview_dashboard(db, owned).await?,
        "correlation_id_logs" => {
            let logs = match reach {
                Some(r) => r.logs.as_ref().map_err(String::as_str),
                None => Err("checked on the schedule and on request only"),
            };
            signal_evidence::correlation_id_logs(logs, owned).await
        }
        "recent_spans" => {
            let traces = match reach {
                Some(r) => r.traces.as_ref().map_err(String::as_str),
                None => Err("checked on the schedule and on request only"),
            };
            signal_evidence::recent_spans(traces, owned).await
        }
        "notification_channel_tested" => signal_evidence::notification_channel_tested(db).await?,
        "escalation_policy_defined" => signal_evidence::escalation_policy_defined(db).await?,
        other => (Status::Unverifiable, format!("unknown check `{other}`")),
    })
}

/// Checks that ask stores: they run on the schedule and on request, never while a page is
/// being read (a slow source would hold the page for its timeout).
const ASKS_SOURCES: &[&str] = &[
    "custom_metrics",
    "system_metrics",
    "correlation_id_logs",
    "recent_spans",
];

/// Runs every check for every team and stores the results; returns them per team.
pub async fn evaluate_all(
    db: &SqlitePool,
    registry: &SourceRegistry,
) -> Result<Vec<(i64, Vec<Evidence>)>, Error> {
    let metrics = registry.access().all(db).await?;
    let reach = Reach {
        metrics: &metrics,
        logs: registry.logs(None).await.map_err(|e| e.to_string()),
        traces: registry.traces(None).await.map_err(|e| e.to_string()),
    };
    let teams: Vec<i64> = sqlx::query_scalar("SELECT id FROM teams ORDER BY id")
        .fetch_all(db)
        .await?;
    let mut out = Vec::with_capacity(teams.len());
    for team in teams {
        out.push((team, evaluate(db, team, Some(&reach)).await?));
    }
    Ok(out)
}

/// For pages: the team's checks on the portal's own data run now; those that ask sources
/// give their last stored result.
pub async fn on_read(db: &SqlitePool, team_id: i64) -> Result<Vec<Evidence>, Error> {
    evaluate(db, team_id, None).await
}

async fn evaluate(
    db: &SqlitePool,
    team_id: i64,
    reach: Option<&Reach<'_>>,
) -> Result<Vec<Evidence>, Error> {
    let owned = ownership::get(db, team_id).await?;
    let mut out = Vec::new();
    for (check, _) in CHECKS {
        let (status, detail) = match reach {
            None if ASKS_SOURCES.contains(check) => {
                out.push(stored(db, team_id, check).await?);
                continue;
            }
            _ => run_check(db, reach, &owned, check).await?,
        };
        let at = now();
        let previous: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT status, failing_since FROM evidence_results WHERE team_id = ? AND check_name = ?",
        )
        .bind(team_id)
        .bind(check)
        .fetch_optional(db)
        .await?;
        let failing_since = match (&status, previous) {
            (Status::Failing, Some((old, since))) if old == "failing" => since.or(Some(at.clone())),
            (Status::Failing, _) => Some(at.clone()),
            _ => None,
        };
        // A team deleted meanwhile: its row would violate the foreign key; skip it.
        sqlx::query(
            "INSERT INTO evidence_results (team_id, check_name, status, detail, checked_at, failing_since) \
             SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM teams WHERE id = ?) \
             ON CONFLICT (team_id, check_name) DO UPDATE SET status = excluded.status, detail = excluded.detail, \
             checked_at = excluded.checked_at, failing_since = excluded.failing_since",
        )
        .bind(team_id)
        .bind(check)
        .bind(status.as_str())
        .bind(&detail)
        .bind(&at)
        .bind(&failing_since)
        .bind(team_id)
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
async fn stored(db: &SqlitePool, team_id: i64, check: &str) -> Result<Evidence, Error> {
    let row: Option<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT status, detail, checked_at, failing_since FROM evidence_results WHERE team_id = ? AND check_name = ?",
    )
    .bind(team_id)
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
pub fn spawn_schedule(db: SqlitePool, registry: SourceRegistry, interval: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            if let Err(err) = evaluate_all(&db, &registry).await {
                tracing::warn!(error = %err, error_type = "EvidenceError", "Evaluating checklist evidence failed");
            }
        }
    });
}
