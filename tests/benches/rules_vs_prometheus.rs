//! 10,000 alerting rules at a 15 s interval: the portal's rule manager on its embedded store
//! against Prometheus 2.42 evaluating the same rules on the same data in the same run
//! (issue #15). Both receive the same remote-write samples every 15 s; after a warm-up,
//! a measured window gives per engine: evaluations missed, the evaluation lag (from an
//! evaluation's scheduled time until its group finished), and the CPU the process used.
//!   Portal: its own `/metrics` (`keiko_rule_group_iterations{,_missed}_total`,
//!   `keiko_rule_group_evaluation_lag_seconds`, `keiko_rule_evaluation_failures_total`).
//!   Prometheus: `prometheus_rule_group_iterations{,_missed}_total`, and the lag of every
//!   group evaluation seen by polling `/api/v1/rules` every 5 s (`lastEvaluation` is when
//!   the group started, `evaluationTime` how long it took; the scheduled time is the group's
//!   slot, its offset read from the timestamps of the group's `ALERTS_FOR_STATE` samples).
//! p99 of both from the same histogram buckets (Prometheus's exact p99 printed too).
//! Run: scripts/bench_rules.sh (BENCH_RULES, BENCH_GROUPS, BENCH_SERIES, BENCH_WARMUP_SECS,
//! BENCH_MEASURE_SECS).

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use e2e::prometheus::Prometheus;
use e2e::remote_write::{self, Series};
use serde_json::{json, Value};

const INTERVAL_MS: i64 = 15_000;
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0,
];

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The rule groups, the same for both engines.
fn groups(rules: usize, groups: usize, series: usize) -> Vec<Value> {
    let per_group = rules / groups;
    (0..groups)
        .map(|g| {
            let rules: Vec<Value> = (0..per_group)
                .map(|r| {
                    let k = g * per_group + r;
                    json!({
                        "alert": format!("BenchHigh{k}"),
                        "expr": format!("bench_load{{instance=\"i-{:04}\"}} > {}", k % series, 40 + k % 50),
                        "for": "30s",
                        "labels": {"severity": if k.is_multiple_of(10) { "critical" } else { "warning" }},
                        "annotations": {"summary": "{{ $labels.instance }} at {{ $value | humanize }}"}
                    })
                })
                .collect();
            json!({"name": format!("bench-{g:03}"), "interval": "15s", "rules": rules})
        })
        .collect()
}

/// One sample per series at `t_ms` (0 to 100, moving with time).
fn samples(series: usize, t_ms: i64) -> Vec<Series> {
    (0..series)
        .map(|i| Series {
            labels: vec![
                ("__name__".into(), "bench_load".into()),
                ("instance".into(), format!("i-{i:04}")),
                ("job".into(), "bench".into()),
            ],
            samples: vec![(
                t_ms,
                (100.0 * e2e::synthetic::unit(i as u64, (t_ms / INTERVAL_MS) as u64)).round(),
            )],
        })
        .collect()
}

/// CPU seconds (user + system) a process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    // utime and stime are fields 14 and 15; `after` starts at field 3. USER_HZ is 100.
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}

/// Samples of a metric family in exposition text: (labels text, value).
fn family(text: &str, name: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            let (labels, value) = if let Some(r) = rest.strip_prefix('{') {
                let (labels, v) = r.split_once("} ")?;
                (labels.to_owned(), v)
            } else {
                (String::new(), rest.strip_prefix(' ')?)
            };
            Some((labels, value.trim().parse().ok()?))
        })
        .collect()
}

fn total(text: &str, name: &str) -> f64 {
    family(text, name).iter().map(|(_, v)| v).sum()
}

fn label<'a>(labels: &'a str, name: &str) -> Option<&'a str> {
    let start = labels.find(&format!("{name}=\""))? + name.len() + 2;
    let len = labels[start..].find('"')?;
    Some(&labels[start..start + len])
}

/// Cumulative counts per `le` of a histogram summed over every series.
fn buckets(text: &str, name: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for (labels, v) in family(text, &format!("{name}_bucket")) {
        if let Some(le) = label(&labels, "le") {
            *out.entry(le.to_owned()).or_insert(0.0) += v;
        }
    }
    out
}

/// A quantile from cumulative bucket counts (upper bounds ascending, then +Inf), linear
/// inside the bucket, as `histogram_quantile` does.
fn quantile(q: f64, cumulative: &[(f64, f64)]) -> f64 {
    let Some(&(_, count)) = cumulative.last() else {
        return f64::NAN;
    };
    let rank = q * count;
    let mut lower = (0.0, 0.0);
    for &(le, c) in cumulative {
        if c >= rank {
            if le.is_infinite() {
                return lower.0;
            }
            let inside = if c > lower.1 {
                (rank - lower.1) / (c - lower.1)
            } else {
                1.0
            };
            return lower.0 + (le - lower.0) * inside;
        }
        lower = (le, c);
    }
    lower.0
}

fn bucketed(values: &[f64]) -> Vec<(f64, f64)> {
    BUCKETS
        .iter()
        .chain(std::iter::once(&f64::INFINITY))
        .map(|&le| (le, values.iter().filter(|v| **v <= le).count() as f64))
        .collect()
}

async fn text(http: &reqwest::Client, url: &str, basic: bool) -> String {
    let mut req = http.get(url);
    if basic {
        req = req.basic_auth("admin", Some(e2e::api::ADMIN_PASSWORD));
    }
    req.send().await.expect(url).text().await.expect(url)
}

#[tokio::main]
async fn main() {
    let n_rules = env("BENCH_RULES", 10_000);
    let n_groups = env("BENCH_GROUPS", 100);
    let n_series = env("BENCH_SERIES", 1_000);
    let warmup = env("BENCH_WARMUP_SECS", 60) as u64;
    let measure = env("BENCH_MEASURE_SECS", 300) as u64;
    let specs = groups(n_rules, n_groups, n_series);
    let file = json!({"groups": specs}).to_string(); // JSON is YAML
    let prom = Prometheus::with_rules(&file).await;
    let portal = e2e::portal::Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let (s, token) = admin
        .post(
            "/api/v1/tokens",
            json!({"name": "bench", "scopes": ["ingest"]}),
        )
        .await;
    assert_eq!(s, 201, "{token}");
    let token = token["token"].as_str().unwrap().to_owned();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let writes = [
        (portal.url("/api/v1/write"), Some(token.clone())),
        (format!("{}/api/v1/write", prom.url()), None),
    ];
    // Ten minutes of history, then a sample every 15 s for as long as the bench runs.
    let first = now_ms() / INTERVAL_MS * INTERVAL_MS;
    let mut history: Vec<Series> = samples(n_series, first - 40 * INTERVAL_MS);
    for step in (1..40).rev() {
        for (h, s) in history
            .iter_mut()
            .zip(samples(n_series, first - step * INTERVAL_MS))
        {
            h.samples.extend(s.samples);
        }
    }
    for (url, bearer) in &writes {
        for body in remote_write::encode_in_parts(&history, 20_000) {
            remote_write::send(&http, url, bearer.as_deref(), body)
                .await
                .expect("history");
        }
    }
    let writer = {
        let (http, writes) = (http.clone(), writes.clone());
        tokio::spawn(async move {
            let mut t = first;
            loop {
                let body = remote_write::encode(&samples(n_series, t));
                for (url, bearer) in &writes {
                    if let Err(e) =
                        remote_write::send(&http, url, bearer.as_deref(), body.clone()).await
                    {
                        eprintln!("write: {e}");
                    }
                }
                t += INTERVAL_MS;
                tokio::time::sleep(Duration::from_millis((t - now_ms()).max(0) as u64)).await;
            }
        })
    };
    for g in &specs {
        let (s, body) = admin.post("/api/v1/rule-groups", g.clone()).await;
        assert_eq!(s, 201, "{body}");
    }
    println!(
        "{n_rules} alerting rules in {n_groups} groups at 15 s over {n_series} series; warm-up {warmup} s, measured {measure} s"
    );
    tokio::time::sleep(Duration::from_secs(warmup)).await;

    let portal_metrics = portal.url("/metrics");
    let prom_metrics = format!("{}/metrics", prom.url());
    let (p0, q0) = (
        text(&http, &portal_metrics, true).await,
        text(&http, &prom_metrics, false).await,
    );
    let (pc0, qc0) = (cpu_seconds(portal.pid()), cpu_seconds(prom.pid()));
    // Each Prometheus group's slot offset within the interval: the timestamp its last
    // evaluation wrote its alerts' `ALERTS_FOR_STATE` samples at (the evaluation time).
    let per_group = n_rules / n_groups;
    let offsets: BTreeMap<String, f64> = prom
        .query("timestamp(ALERTS_FOR_STATE)")
        .await
        .iter()
        .filter_map(|r| {
            let k: usize = r["metric"]["alertname"]
                .as_str()?
                .strip_prefix("BenchHigh")?
                .parse()
                .ok()?;
            let ts: f64 = r["value"][1].as_str()?.parse().ok()?;
            Some((
                format!("bench-{:03}", k / per_group),
                ts.rem_euclid(INTERVAL_MS as f64 / 1000.0),
            ))
        })
        .collect();
    let mut seen = HashSet::new();
    let mut prom_lags = Vec::new();
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(measure) {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let Ok(resp) = http
            .get(format!("{}/api/v1/rules?type=alert", prom.url()))
            .send()
            .await
        else {
            continue;
        };
        let Ok(body) = resp.json::<Value>().await else {
            continue;
        };
        for g in body["data"]["groups"].as_array().into_iter().flatten() {
            let name = g["name"].as_str().unwrap_or_default();
            let last = g["lastEvaluation"].as_str().unwrap_or_default().to_owned();
            let (Some(start), Some(offset)) = (
                last.contains('T')
                    .then(|| e2e::rfc3339_millis(&last) as f64 / 1000.0),
                offsets.get(name),
            ) else {
                continue;
            };
            if !seen.insert((name.to_owned(), last)) {
                continue;
            }
            let interval = INTERVAL_MS as f64 / 1000.0;
            let slot = offset + ((start - offset) / interval).floor() * interval;
            prom_lags.push(start + g["evaluationTime"].as_f64().unwrap_or(0.0) - slot);
        }
    }
    let (p1, q1) = (
        text(&http, &portal_metrics, true).await,
        text(&http, &prom_metrics, false).await,
    );
    let (pc1, qc1) = (cpu_seconds(portal.pid()), cpu_seconds(prom.pid()));
    let window = started.elapsed().as_secs_f64();
    writer.abort();

    let delta = |a: &str, b: &str, name: &str| total(b, name) - total(a, name);
    let (b0, b1) = (
        buckets(&p0, "keiko_rule_group_evaluation_lag_seconds"),
        buckets(&p1, "keiko_rule_group_evaluation_lag_seconds"),
    );
    let mut portal_cum: Vec<(f64, f64)> = b1
        .iter()
        .map(|(le, c)| {
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            (bound, c - b0.get(le).copied().unwrap_or(0.0))
        })
        .collect();
    portal_cum.sort_by(|a, b| a.0.total_cmp(&b.0));
    let portal_evals = portal_cum.last().map_or(0.0, |c| c.1);
    prom_lags.sort_by(f64::total_cmp);
    let exact = |q: f64| {
        prom_lags
            .get(((q * prom_lags.len() as f64).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let (_, alerts) = admin.get("/api/v1/alerts").await;
    let firing = |v: &Value| {
        v["data"]["alerts"]
            .as_array()
            .map_or(0, |a| a.iter().filter(|a| a["state"] == "firing").count())
    };
    let prom_alerts: Value = http
        .get(format!("{}/api/v1/alerts", prom.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    println!(
        "window {window:.0} s; Prometheus groups with a known slot: {} of {n_groups}",
        offsets.len()
    );
    println!(
        "portal      : group evaluations {:.0} (iterations {:.0}), missed {:.0}, rule failures {:.0}; lag p50 {:.3} s, p99 {:.3} s; CPU {:.1} s = {:.2} cores; firing now {}",
        portal_evals,
        delta(&p0, &p1, "keiko_rule_group_iterations_total"),
        delta(&p0, &p1, "keiko_rule_group_iterations_missed_total"),
        delta(&p0, &p1, "keiko_rule_evaluation_failures_total"),
        quantile(0.5, &portal_cum),
        quantile(0.99, &portal_cum),
        pc1 - pc0,
        (pc1 - pc0) / window,
        firing(&alerts),
    );
    println!(
        "Prometheus  : group evaluations {} seen (iterations {:.0}), missed {:.0}, rule failures {:.0}; lag p50 {:.3} s, p99 {:.3} s (exact p99 {:.3} s, max {:.3} s); CPU {:.1} s = {:.2} cores; firing now {}",
        prom_lags.len(),
        delta(&q0, &q1, "prometheus_rule_group_iterations_total"),
        delta(&q0, &q1, "prometheus_rule_group_iterations_missed_total"),
        delta(&q0, &q1, "prometheus_rule_evaluation_failures_total"),
        quantile(0.5, &bucketed(&prom_lags)),
        quantile(0.99, &bucketed(&prom_lags)),
        exact(0.99),
        prom_lags.last().copied().unwrap_or(f64::NAN),
        qc1 - qc0,
        (qc1 - qc0) / window,
        firing(&prom_alerts),
    );
}
