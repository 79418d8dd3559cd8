//! Differential test: the same deterministic samples (the seed's metric names; counters with
//! resets, gauges, a classic histogram, a summary, several label dimensions, gaps with and
//! without staleness markers, a sparse series, a late series) remote-written into the portal
//! and into a real Prometheus 2.42, then a few hundred instant and range queries asked of
//! both and compared at 1e-6 relative (NaN equals NaN, the same series, the same timestamps).
//!
//! The portal follows Prometheus 3 semantics, the Debian Prometheus is 2.42: where the two
//! differ on purpose, the query is in [`KNOWN_DIFFERENCES`] with the reason and checked to
//! differ exactly as explained. Everywhere else the samples sit a few seconds off the
//! evaluation grid (query times are at 7.5 s past a 15 s step, samples between 0.1 s and 7 s
//! past it), so the left-closed (2.x) and left-open (3.x) windows hold the same samples.

use std::collections::BTreeMap;

use e2e::api::ADMIN_PASSWORD;
use e2e::portal::Portal;
use e2e::prometheus::Prometheus;
use e2e::remote_write::{encode_in_parts, send};
use e2e::synthetic::{errors, mix, window, Gap, Shape, Spec, BUCKETS};
use serde_json::{json, Value};

/// The scrape interval of the synthetic data.
const STEP_MS: i64 = 15_000;
/// Steps of data (50 minutes: inside Prometheus's head, which takes remote-written samples
/// only within an hour of its newest).
const STEPS: usize = 200;
/// The offset of `keiko_user_sessions_active`'s samples in their step (the known
/// differences query exactly at its sample times).
const SESSIONS_OFFSET_MS: i64 = 2_500;

/// Instant and range queries compared as they are. Every one runs as an instant query at
/// two times and as a range query over the data; `$AT` is a time inside the data (for `@`).
const QUERIES: &[&str] = &[
    // Selectors, offsets.
    "keiko_requests_total",
    "keiko_requests_total{status=\"500\"}",
    "keiko_requests_total{status=~\"4..|5..\"}",
    "keiko_requests_total{endpoint!=\"/health\", method!~\"G.*\"}",
    "{__name__=~\"keiko_mcp_.*\"}",
    "{__name__=~\"keiko_user_.+\", job=\"keiko\"}",
    "keiko_mcp_server_health",
    "keiko_agent_tasks_active offset 5m",
    "keiko_user_sessions_active offset 10m",
    "keiko_security_events_total",
    "keiko_user_actions_total",
    "keiko_agent_tasks_active{agent_id=\"reviewer\"}",
    "keiko_mcp_server_health{server_name=\"search\"}",
    // Rates and the like.
    "rate(keiko_requests_total[5m])",
    "rate(keiko_requests_total[1m])",
    "irate(keiko_requests_total[2m])",
    "increase(keiko_requests_total[10m])",
    "increase(keiko_errors_total[15m])",
    "rate(keiko_security_events_total[5m])",
    "rate(keiko_security_events_total[3m])",
    "rate(keiko_user_actions_total{action_type!=\"share\"}[5m])",
    "increase(keiko_user_actions_total{action_type!=\"share\"}[20m])",
    "delta(keiko_agent_tasks_active[5m])",
    "idelta(keiko_user_sessions_active[2m])",
    "irate(keiko_security_events_total[5m])",
    "resets(keiko_requests_total[15m])",
    "changes(keiko_mcp_server_health[30m])",
    "changes(keiko_agent_tasks_active[10m])",
    "rate(keiko_request_duration_seconds_sum[5m]) / rate(keiko_request_duration_seconds_count[5m])",
    "sum by (instance) (rate(keiko_requests_total[5m]))",
    "sum by (method, endpoint) (rate(keiko_requests_total[5m]))",
    "sum(rate(keiko_requests_total{status=~\"5..\"}[2m])) / clamp_min(sum(rate(keiko_requests_total[2m])), 1e-9)",
    "sum by (status) (increase(keiko_requests_total[30m]))",
    "sum by (error_type) (rate(keiko_errors_total[5m]))",
    "sum by (event_type) (rate(keiko_security_events_total[10m]))",
    "rate(keiko_errors_total[5m]) > 0.1",
    "rate(keiko_agent_task_duration_seconds_count{status=\"failed\"}[5m]) > 0.05",
    "keiko_mcp_server_health == 0",
    "sum by (server_name, tool_name) (rate(keiko_mcp_tool_calls_total[5m]))",
    // Aggregations.
    "sum(keiko_requests_total)",
    "sum by (status) (keiko_requests_total)",
    "sum without (instance) (keiko_requests_total)",
    "avg by (agent_id) (keiko_agent_tasks_active)",
    "min by (task_type) (keiko_agent_tasks_active)",
    "max without (agent_id, instance) (keiko_agent_tasks_active)",
    "count by (endpoint) (keiko_requests_total)",
    "count(keiko_mcp_server_health)",
    "stddev(keiko_agent_tasks_active)",
    "stdvar by (instance) (keiko_agent_tasks_active)",
    "stddev by (instance) (rate(keiko_requests_total[5m]))",
    "group by (job, instance) (keiko_requests_total)",
    "topk(3, keiko_requests_total)",
    "bottomk(2, rate(keiko_requests_total[5m]))",
    "topk by (instance) (2, sum by (instance, endpoint) (rate(keiko_requests_total[5m])))",
    "bottomk without (status) (1, keiko_requests_total)",
    "quantile(0.9, rate(keiko_requests_total[5m]))",
    "quantile by (instance) (0.5, keiko_agent_tasks_active)",
    "quantile(0, keiko_agent_tasks_active)",
    "quantile(1.5, keiko_agent_tasks_active)",
    "quantile(-0.5, keiko_user_sessions_active)",
    "count_values(\"tasks\", keiko_agent_tasks_active)",
    "count_values by (server_name) (\"h\", keiko_mcp_server_health)",
    "avg(keiko_user_sessions_active)",
    "sum(sum by (instance) (rate(keiko_requests_total[5m])))",
    "max(topk(5, keiko_requests_total))",
    "count(count by (endpoint) (keiko_requests_total))",
    "sum by (le) (keiko_request_duration_seconds_bucket)",
    "avg without (quantile) (keiko_agent_task_duration_seconds)",
    "max by (agent_id) (keiko_agent_task_duration_seconds)",
    "sum(keiko_agent_tasks_active) by (task_type)",
    // Classic histograms.
    "histogram_quantile(0.99, sum by (le) (rate(keiko_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.95, sum by (le, endpoint) (rate(keiko_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.5, rate(keiko_request_duration_seconds_bucket[5m]))",
    "histogram_quantile(0.9, sum by (le, instance) (increase(keiko_request_duration_seconds_bucket[10m])))",
    "histogram_quantile(0, sum by (le) (keiko_request_duration_seconds_bucket))",
    "histogram_quantile(1, sum by (le) (keiko_request_duration_seconds_bucket))",
    "histogram_quantile(1.5, sum by (le) (rate(keiko_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(-1, sum by (le) (rate(keiko_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.99, sum by (le) (rate(keiko_request_duration_seconds_bucket{le!=\"+Inf\"}[5m])))",
    "histogram_quantile(0.75, sum by (le, method) (rate(keiko_request_duration_seconds_bucket{endpoint=\"/health\"}[2m])))",
    "sum by (le) (rate(keiko_request_duration_seconds_bucket{endpoint=\"/health\"}[5m]))",
    // Vector matching and set operators.
    "keiko_requests_total / on (instance, method, endpoint) group_left keiko_request_duration_seconds_count",
    "keiko_request_duration_seconds_bucket / ignoring (le) group_left keiko_request_duration_seconds_count",
    "sum by (instance) (keiko_requests_total) * on (instance) group_right keiko_agent_tasks_active",
    "keiko_agent_tasks_active * on (instance) group_left (endpoint) topk by (instance) (1, keiko_requests_total{status=\"200\"})",
    "sum by (instance) (rate(keiko_requests_total[5m])) / ignoring (instance) group_left sum(rate(keiko_requests_total[5m]))",
    "keiko_agent_tasks_active - ignoring (task_type) group_left avg without (task_type) (keiko_agent_tasks_active)",
    "rate(keiko_request_duration_seconds_sum[5m]) / on (instance, method, endpoint) rate(keiko_request_duration_seconds_count[5m])",
    "keiko_user_sessions_active + on () sum(keiko_agent_tasks_active)",
    "keiko_requests_total and on (instance) (keiko_agent_tasks_active > 5)",
    "keiko_agent_tasks_active and keiko_agent_tasks_active > 3",
    "keiko_agent_tasks_active or keiko_mcp_server_health",
    "keiko_agent_tasks_active unless keiko_agent_tasks_active > 5",
    "keiko_mcp_server_health unless on (server_name) keiko_mcp_server_health == 0",
    "(keiko_agent_tasks_active > 2) and on (agent_id) (keiko_agent_tasks_active{task_type=\"chat\"} < 8)",
    "vector(1) or keiko_user_sessions_active",
    "keiko_mcp_server_health or on (server_name) vector(0)",
    "sum by (instance) (keiko_requests_total) unless ignoring (instance) vector(0)",
    "keiko_agent_tasks_active > on (agent_id, task_type, instance, job) keiko_agent_tasks_active offset 5m",
    // Arithmetic and comparisons.
    "keiko_agent_tasks_active * 2 + 1",
    "keiko_user_sessions_active / 3",
    "keiko_user_sessions_active % 7",
    "2 ^ keiko_agent_tasks_active",
    "-keiko_agent_tasks_active",
    "keiko_agent_tasks_active > 4",
    "keiko_agent_tasks_active > bool 4",
    "keiko_agent_tasks_active == bool keiko_agent_tasks_active offset 1m",
    "keiko_agent_tasks_active != 3",
    "keiko_agent_tasks_active <= bool 3",
    "keiko_agent_tasks_active >= 3",
    "keiko_user_sessions_active < 100",
    "keiko_agent_tasks_active / 0",
    "sum(keiko_agent_tasks_active) > bool on () sum(keiko_agent_tasks_active offset 5m)",
    "1 < bool 2",
    "2 * 3 + 4 ^ 0.5",
    "-1.5e3 % 7",
    "NaN",
    "Inf - Inf",
    "keiko_agent_tasks_active * scalar(keiko_user_sessions_active)",
    "scalar(sum(keiko_mcp_server_health))",
    "scalar(keiko_requests_total)",
    "vector(scalar(count(keiko_requests_total)))",
    // Mathematical functions.
    "abs(delta(keiko_user_sessions_active[5m]))",
    "ceil(keiko_user_sessions_active)",
    "floor(keiko_user_sessions_active)",
    "round(keiko_user_sessions_active)",
    "round(keiko_user_sessions_active, 5)",
    "round(keiko_user_sessions_active, 0.3)",
    "sqrt(keiko_user_sessions_active)",
    "exp(keiko_agent_tasks_active)",
    "ln(keiko_user_sessions_active)",
    "log2(keiko_agent_tasks_active)",
    "log10(keiko_requests_total)",
    "clamp(keiko_agent_tasks_active, 2, 6)",
    "clamp_min(keiko_agent_tasks_active, 4)",
    "clamp_max(keiko_agent_tasks_active, 4)",
    "clamp(keiko_agent_tasks_active, 6, 2)",
    "sgn(delta(keiko_agent_tasks_active[5m]))",
    "sin(keiko_user_sessions_active) + cos(keiko_user_sessions_active) + tan(keiko_agent_tasks_active)",
    "asin(keiko_mcp_server_health) + acos(keiko_mcp_server_health) + atan(keiko_user_sessions_active)",
    "sinh(keiko_agent_tasks_active) - cosh(keiko_agent_tasks_active) + tanh(keiko_agent_tasks_active)",
    "asinh(keiko_user_sessions_active) + acosh(keiko_user_sessions_active) + atanh(keiko_mcp_server_health * 0.5)",
    "deg(keiko_user_sessions_active) - rad(keiko_user_sessions_active)",
    "pi() * keiko_agent_tasks_active",
    // Time functions.
    "time()",
    "timestamp(keiko_user_sessions_active)",
    "time() - timestamp(keiko_security_events_total)",
    "timestamp(keiko_mcp_server_health)",
    "minute() + hour() * 60",
    "day_of_week() + day_of_month() + day_of_year() + days_in_month() + month() + year()",
    "hour(timestamp(keiko_user_sessions_active))",
    "minute(timestamp(keiko_requests_total{status=\"200\"}))",
    "day_of_month(vector(time()))",
    // *_over_time.
    "avg_over_time(keiko_user_sessions_active[5m])",
    "min_over_time(keiko_agent_tasks_active[10m])",
    "max_over_time(keiko_agent_tasks_active[10m])",
    "sum_over_time(keiko_agent_tasks_active[5m])",
    "count_over_time(keiko_agent_tasks_active[10m])",
    "count_over_time(keiko_security_events_total[10m])",
    "last_over_time(keiko_mcp_server_health[10m])",
    "last_over_time(keiko_agent_tasks_active[10m])",
    "present_over_time(keiko_agent_tasks_active[5m])",
    "stddev_over_time(keiko_user_sessions_active[10m])",
    "stdvar_over_time(keiko_agent_tasks_active[10m])",
    "quantile_over_time(0.9, keiko_user_sessions_active[10m])",
    "quantile_over_time(0.25, keiko_agent_tasks_active[15m])",
    "avg_over_time(keiko_requests_total[2m])",
    "absent_over_time(keiko_mcp_server_health{server_name=\"search\"}[5m])",
    "absent_over_time(keiko_not_there[5m])",
    "absent_over_time(keiko_agent_tasks_active{agent_id=\"reviewer\", task_type=\"code\"}[3m])",
    "absent(keiko_not_there{job=\"x\", agent=~\"a.*\"})",
    "absent(keiko_user_sessions_active)",
    "absent(keiko_mcp_server_health{server_name=\"search\"})",
    // Prediction.
    "deriv(keiko_user_sessions_active[10m])",
    "deriv(keiko_requests_total{instance=\"app-b:8000\"}[15m])",
    "predict_linear(keiko_user_sessions_active[10m], 3600)",
    "predict_linear(keiko_requests_total[5m], 600)",
    "predict_linear(keiko_agent_tasks_active[15m], -300)",
    // Subqueries.
    "max_over_time(rate(keiko_requests_total[1m])[10m:1m])",
    "avg_over_time(sum(rate(keiko_requests_total[5m]))[30m:2m])",
    "min_over_time(keiko_user_sessions_active[10m:30s])",
    "rate(keiko_requests_total[5m:30s])",
    "max_over_time(deriv(keiko_user_sessions_active[5m])[15m:1m])",
    "sum_over_time(keiko_agent_tasks_active[5m:])",
    "quantile_over_time(0.5, rate(keiko_requests_total[2m])[20m:1m])",
    "count_over_time(keiko_security_events_total[20m:2m])",
    "max_over_time(keiko_mcp_server_health[10m:1m] offset 5m)",
    // offset and @.
    "rate(keiko_requests_total[5m] offset 10m)",
    "keiko_user_sessions_active @ $AT",
    "rate(keiko_requests_total[5m] @ $AT)",
    "sum(keiko_requests_total @ end())",
    "keiko_user_sessions_active @ start()",
    "avg_over_time(keiko_user_sessions_active[10m] @ $AT offset 2m)",
    "keiko_user_sessions_active offset -5m",
    "max_over_time(rate(keiko_requests_total[2m])[10m:1m] @ $AT)",
    // Labels.
    "label_replace(keiko_requests_total, \"host\", \"$1\", \"instance\", \"(.*):.*\")",
    "label_replace(keiko_agent_tasks_active, \"agent_id\", \"x-$1\", \"agent_id\", \"(p.*)\")",
    "label_replace(keiko_mcp_server_health, \"new\", \"\", \"server_name\", \".*\")",
    "label_replace(keiko_mcp_server_health, \"server_name\", \"\", \"server_name\", \"search\")",
    "label_join(keiko_requests_total, \"route\", \" \", \"method\", \"endpoint\")",
    "label_join(keiko_mcp_server_health, \"server_name\", \"-\", \"job\", \"server_name\")",
    // Sorting (instant queries compare the order).
    "sort(sum by (endpoint) (rate(keiko_requests_total[5m])))",
    "sort_desc(sum by (instance, endpoint) (keiko_requests_total))",
    "sort(keiko_user_sessions_active)",
];

/// Queries whose answer is a range vector: instant queries only (at both times).
const INSTANT_ONLY: &[&str] = &[
    "keiko_user_sessions_active[2m]",
    "keiko_security_events_total[5m]",
    "keiko_mcp_server_health[10m] offset 5m",
    "rate(keiko_requests_total{status=\"500\"}[5m])[10m:1m]",
    "keiko_agent_tasks_active{agent_id=\"reviewer\"}[10m]",
    "\"a string literal\"",
];

/// Queries that Prometheus 2.42 and the portal spell differently (2.x name, 3.x name), with
/// the same meaning: compared as the others are.
const RENAMED: &[(&str, &str)] = &[
    (
        "holt_winters(keiko_user_sessions_active[10m], 0.5, 0.5)",
        "double_exponential_smoothing(keiko_user_sessions_active[10m], 0.5, 0.5)",
    ),
    (
        "holt_winters(keiko_agent_tasks_active[15m], 0.1, 0.9)",
        "double_exponential_smoothing(keiko_agent_tasks_active[15m], 0.1, 0.9)",
    ),
    (
        "holt_winters(sum(rate(keiko_requests_total[5m]))[20m:1m], 0.3, 0.6)",
        "double_exponential_smoothing(sum(rate(keiko_requests_total[5m]))[20m:1m], 0.3, 0.6)",
    ),
];

/// One side's answer to a known difference: each series' labels and value (sorted by
/// value), or the error type.
type Outcome = Result<Vec<(BTreeMap<String, String>, f64)>, String>;

/// When a known difference is asked.
#[derive(Clone, Copy, Debug)]
enum When {
    /// Exactly at `keiko_user_sessions_active`'s sample of step `n`, plus seconds.
    SessionsSample(usize, f64),
    /// At step `n` of the grid, plus seconds (step `n` exactly is a multiple of 15 s).
    Grid(usize, f64),
}

/// A query on which Prometheus 2.42 and the portal (3.x semantics) differ by design.
struct Known {
    query: &'static str,
    when: When,
    /// What each side answers, in words, and the check of it.
    expected: &'static str,
    check: fn(prometheus: &Outcome, portal: &Outcome) -> bool,
    why: &'static str,
}

/// The values of an answer (none for an error).
fn values(o: &Outcome) -> Option<Vec<f64>> {
    o.as_ref().ok().map(|s| s.iter().map(|(_, v)| *v).collect())
}

const KNOWN_DIFFERENCES: &[Known] = &[
    Known {
        query: "count_over_time(keiko_user_sessions_active[1m])",
        when: When::SessionsSample(100, 0.0),
        expected: "Prometheus 5, portal 4",
        check: |p, o| values(p) == Some(vec![5.0]) && values(o) == Some(vec![4.0]),
        why: "range selectors are left-open in Prometheus 3 ((t-1m, t]); 2.x includes the \
              sample exactly 1m before t ([t-1m, t])",
    },
    Known {
        query: "count(keiko_user_sessions_active)",
        when: When::SessionsSample(STEPS - 1, 300.0),
        expected: "Prometheus 1, portal nothing",
        check: |p, o| values(p) == Some(vec![1.0]) && values(o) == Some(vec![]),
        why: "the lookback window is left-open in Prometheus 3 too: a sample exactly 5m \
              old is no longer seen",
    },
    Known {
        query: "count_over_time(keiko_user_sessions_active[1m:15s])",
        when: When::Grid(100, 0.0),
        expected: "Prometheus 5, portal 4",
        check: |p, o| values(p) == Some(vec![5.0]) && values(o) == Some(vec![4.0]),
        why: "a subquery's range is left-open in Prometheus 3: at a time on its step grid \
              the step exactly 1m back is left out",
    },
    Known {
        query: "count(keiko_security_events_total{source=~\"line1.line2\"})",
        when: When::Grid(160, 7.5),
        expected: "Prometheus nothing, portal 1",
        check: |p, o| values(p) == Some(vec![]) && values(o) == Some(vec![1.0]),
        why: "`.` in a regex matches a newline in Prometheus 3 (regexes are compiled with \
              the s flag); 2.x does not match the value \"line1\\nline2\"",
    },
    Known {
        query: "increase(keiko_user_actions_total{action_type=\"share\"}[10m])",
        when: When::Grid(80, 7.5),
        expected: "Prometheus more than the portal",
        check: |p, o| match (values(p).as_deref(), values(o).as_deref()) {
            (Some(&[p]), Some(&[o])) => p > o * (1.0 + 1e-6),
            _ => false,
        },
        why: "rate/increase extrapolate a window's start by at most half the sample \
              interval in Prometheus 3, and then no further than the counter's zero point; \
              2.42 first takes the zero point and extrapolates to it when it lies within \
              1.1 intervals (the series starts inside the window at 8 after 10 a step, so its \
              zero point is ~12 s back: 2.42 goes there, 3.x only 7.5 s)",
    },
    Known {
        query: "keiko_agent_tasks_active atan2 keiko_agent_tasks_active offset 5m",
        when: When::Grid(125, 7.5),
        expected: "the same values; Prometheus keeps __name__, the portal drops it",
        check: |p, o| match (p, o) {
            (Ok(p), Ok(o)) => {
                p.len() == o.len()
                    && !p.is_empty()
                    && p.iter().all(|(l, _)| l.contains_key("__name__"))
                    && o.iter().all(|(l, _)| !l.contains_key("__name__"))
                    && p.iter().zip(o).all(|(a, b)| close(a.1, b.1))
            }
            _ => false,
        },
        why: "`atan2` is an arithmetic operator and drops the metric name in Prometheus 3, \
              as + - * / % ^ do; 2.42 kept it",
    },
    Known {
        query: "holt_winters(keiko_user_sessions_active[10m], 0.5, 0.5)",
        when: When::Grid(160, 7.5),
        expected: "Prometheus a value, portal an error",
        check: |p, o| values(p).is_some_and(|v| v.len() == 1) && o.is_err(),
        why: "`holt_winters` is named `double_exponential_smoothing` in Prometheus 3 and \
              the old name is gone (the pairs in RENAMED compare the two names)",
    },
    Known {
        query: "double_exponential_smoothing(keiko_user_sessions_active[10m], 0.5, 0.5)",
        when: When::Grid(160, 7.5),
        expected: "Prometheus an error, portal a value",
        check: |p, o| p.is_err() && values(o).is_some_and(|v| v.len() == 1),
        why: "2.42 does not know the new name",
    },
];

/// Every series of the data.
fn data() -> Vec<Spec> {
    let mut specs = Vec::new();
    let offset = |n: usize| 100 + (mix(11, n as u64) % 6_900) as i64;
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    let count =
        |seed: u64, per_step: u64, factor: f64, floor: bool, resets: &[usize]| Shape::Count {
            seed,
            base: 0,
            per_step,
            factor,
            floor,
            resets: resets.to_vec(),
        };
    let instances = [("app-a:8000", vec![]), ("app-b:8000", vec![150])];
    // Requests: instance × method × endpoint × status; app-b restarts at step 150.
    for (instance, resets) in &instances {
        for method in ["GET", "POST"] {
            for endpoint in ["/api/chat", "/api/agents", "/health"] {
                for (status, per_step) in [("200", 20), ("404", 3), ("500", 1)] {
                    let k = next();
                    specs.push(Spec::new(
                        &[
                            ("__name__", "keiko_requests_total"),
                            ("job", "keiko"),
                            ("instance", instance),
                            ("method", method),
                            ("endpoint", endpoint),
                            ("status", status),
                        ],
                        // A factor of its own per series: no two series tie (topk, sort).
                        count(k as u64, per_step, 1.0 + k as f64 / 1000.0, false, resets),
                        offset(k),
                    ));
                }
                // The request-duration histogram of the same requests.
                let k = next();
                let labels = |name: &'static str| {
                    vec![
                        ("__name__", name),
                        ("job", "keiko"),
                        ("instance", *instance),
                        ("method", method),
                        ("endpoint", endpoint),
                    ]
                };
                for (le, share) in BUCKETS {
                    let mut l = labels("keiko_request_duration_seconds_bucket");
                    l.push(("le", le));
                    specs.push(Spec::new(
                        &l,
                        count(k as u64, 24, share, true, resets),
                        offset(k),
                    ));
                }
                specs.push(Spec::new(
                    &labels("keiko_request_duration_seconds_count"),
                    count(k as u64, 24, 1.0, true, resets),
                    offset(k),
                ));
                specs.push(Spec::new(
                    &labels("keiko_request_duration_seconds_sum"),
                    count(k as u64, 24, 0.4137, false, resets),
                    offset(k),
                ));
            }
        }
    }
    // Active agent tasks: integer gauges; app-b's reviewer/code goes stale at 145 and comes
    // back at 170.
    for (instance, _) in &instances {
        for agent in ["planner", "coder", "reviewer"] {
            for task in ["chat", "code"] {
                let k = next();
                let mut spec = Spec::new(
                    &[
                        ("__name__", "keiko_agent_tasks_active"),
                        ("job", "keiko"),
                        ("instance", instance),
                        ("agent_id", agent),
                        ("task_type", task),
                    ],
                    Shape::Wave {
                        seed: k as u64,
                        base: 5.0,
                        amplitude: 3.0,
                        period: 37.0 + k as f64,
                        noise: 3.0,
                        integer: true,
                    },
                    offset(k),
                );
                if *instance == "app-b:8000" && agent == "reviewer" && task == "code" {
                    spec.gaps.push(Gap {
                        steps: 145..170,
                        stale: true,
                    });
                }
                specs.push(spec);
            }
        }
    }
    // MCP server health: github goes to 0 at step 100; search has a gap of 30 steps
    // (7.5 min, longer than the lookback) with no staleness marker.
    for (server, base, amplitude) in [
        ("filesystem", 1.0, 0.0),
        ("search", 1.0, 0.0),
        ("github", 0.5, 0.6),
    ] {
        let k = next();
        let mut spec = Spec::new(
            &[
                ("__name__", "keiko_mcp_server_health"),
                ("job", "keiko"),
                ("server_name", server),
            ],
            Shape::Wave {
                seed: k as u64,
                base,
                amplitude,
                period: STEPS as f64,
                noise: 0.0,
                integer: true,
            },
            offset(k),
        );
        if server == "search" {
            spec.gaps.push(Gap {
                steps: 100..130,
                stale: false,
            });
        }
        specs.push(spec);
    }
    specs.push(Spec::new(
        &[("__name__", "keiko_user_sessions_active"), ("job", "keiko")],
        Shape::Wave {
            seed: 99,
            base: 120.0,
            amplitude: 40.0,
            period: 90.0,
            noise: 7.5,
            integer: false,
        },
        SESSIONS_OFFSET_MS,
    ));
    // Errors: slow counters, some that never move.
    specs.extend(errors(500, [2, 1, 0], |k| offset(500 + k)));
    for server in ["filesystem", "search", "github"] {
        for tool in ["read", "write"] {
            for (status, per_step) in [("ok", 9), ("error", 1)] {
                let k = next();
                specs.push(Spec::new(
                    &[
                        ("__name__", "keiko_mcp_tool_calls_total"),
                        ("job", "keiko"),
                        ("server_name", server),
                        ("tool_name", tool),
                        ("status", status),
                    ],
                    count(k as u64, per_step, 1.0, true, &[]),
                    offset(k),
                ));
            }
        }
    }
    // Security events: a sample a minute (every 4th step); one source holds a newline.
    for (event, severity, source) in [
        ("login_failed", "warning", "sso"),
        ("token_revoked", "info", "api"),
        ("policy_violation", "critical", "line1\nline2"),
    ] {
        let k = next();
        let mut spec = Spec::new(
            &[
                ("__name__", "keiko_security_events_total"),
                ("job", "keiko"),
                ("event_type", event),
                ("severity", severity),
                ("source", source),
            ],
            count(k as u64, 5, 1.0, true, &[]),
            offset(k),
        );
        spec.every = 4;
        specs.push(spec);
    }
    // User actions: one kind only starts at step 60.
    for (action, role, first) in [
        ("login", "viewer", 0),
        ("query", "editor", 0),
        ("export", "admin", 60),
    ] {
        let k = next();
        let mut spec = Spec::new(
            &[
                ("__name__", "keiko_user_actions_total"),
                ("job", "keiko"),
                ("action_type", action),
                ("user_role", role),
            ],
            count(k as u64, 4, 1.0, true, &[]),
            offset(k),
        );
        spec.first = first;
        specs.push(spec);
    }
    // One more kind of action, starting at step 60 at 8 (counted before it was exported):
    // the known difference in extrapolating to the counter's zero point.
    let k = next();
    let mut spec = Spec::new(
        &[
            ("__name__", "keiko_user_actions_total"),
            ("job", "keiko"),
            ("action_type", "share"),
            ("user_role", "viewer"),
        ],
        Shape::Count {
            seed: k as u64,
            base: 8,
            per_step: 10,
            factor: 1.0,
            floor: true,
            resets: vec![60],
        },
        offset(k),
    );
    spec.first = 60;
    specs.push(spec);
    // Agent task duration: a summary.
    for agent in ["planner", "coder"] {
        for status in ["success", "failed"] {
            let k = next();
            let labels = |name: &'static str| {
                vec![
                    ("__name__", name),
                    ("job", "keiko"),
                    ("agent_id", agent),
                    ("task_type", "chat"),
                    ("status", status),
                ]
            };
            for (q, base) in [("0.5", 1.2), ("0.9", 3.4), ("0.99", 7.9)] {
                let mut l = labels("keiko_agent_task_duration_seconds");
                l.push(("quantile", q));
                specs.push(Spec::new(
                    &l,
                    Shape::Wave {
                        seed: k as u64 * 10 + base as u64,
                        base,
                        amplitude: base / 4.0,
                        period: 60.0,
                        noise: base / 10.0,
                        integer: false,
                    },
                    offset(k),
                ));
            }
            let per_step = if status == "failed" { 1 } else { 6 };
            specs.push(Spec::new(
                &labels("keiko_agent_task_duration_seconds_count"),
                count(k as u64, per_step, 1.0, true, &[]),
                offset(k),
            ));
            specs.push(Spec::new(
                &labels("keiko_agent_task_duration_seconds_sum"),
                count(k as u64, per_step, 2.25, false, &[]),
                offset(k),
            ));
        }
    }
    specs
}

/// One store's Prometheus API: base URL (…/api/v1) and credentials.
struct Api {
    base: String,
    basic: Option<(&'static str, &'static str)>,
    http: reqwest::Client,
}

impl Api {
    /// POSTs a query form and returns `data` or the error type.
    async fn ask(&self, path: &str, form: &[(&str, String)]) -> Result<Value, String> {
        let mut req = self.http.post(format!("{}/{path}", self.base)).form(form);
        if let Some((user, pw)) = self.basic {
            req = req.basic_auth(user, Some(pw));
        }
        let body: Value = req
            .send()
            .await
            .expect("query request")
            .json()
            .await
            .expect("a JSON answer");
        if body["status"] == "success" {
            Ok(body["data"].clone())
        } else {
            Err(body["errorType"].as_str().unwrap_or("?").to_owned())
        }
    }

    async fn instant(&self, query: &str, at: f64) -> Result<Value, String> {
        self.ask(
            "query",
            &[("query", query.to_owned()), ("time", format!("{at}"))],
        )
        .await
    }

    async fn range(&self, query: &str, range: (f64, f64, f64)) -> Result<Value, String> {
        self.ask(
            "query_range",
            &[
                ("query", query.to_owned()),
                ("start", format!("{}", range.0)),
                ("end", format!("{}", range.1)),
                ("step", format!("{}", range.2)),
            ],
        )
        .await
    }
}

fn number(v: &Value) -> f64 {
    match v.as_str() {
        Some("NaN") => f64::NAN,
        Some("+Inf") => f64::INFINITY,
        Some("-Inf") => f64::NEG_INFINITY,
        Some(s) => s.parse().unwrap_or_else(|_| panic!("a number: {v}")),
        None => panic!("a number as a string: {v}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-6 * a.abs().max(b.abs())
}

/// A series' labels as one canonical string.
fn key(metric: &Value) -> String {
    let labels: BTreeMap<&str, &str> = metric
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    format!("{labels:?}")
}

/// Compares two `data` objects; `ordered` also compares the order of a vector's series.
fn compare(theirs: &Value, ours: &Value, ordered: bool) -> Result<(), String> {
    let kind = theirs["resultType"].as_str().unwrap_or("");
    if ours["resultType"] != theirs["resultType"] {
        return Err(format!(
            "result type {} (Prometheus {kind})",
            ours["resultType"]
        ));
    }
    let (t, o) = (&theirs["result"], &ours["result"]);
    match kind {
        "scalar" | "string" => {
            let same = t[0] == o[0]
                && if kind == "scalar" {
                    close(number(&t[1]), number(&o[1]))
                } else {
                    t[1] == o[1]
                };
            return if same {
                Ok(())
            } else {
                Err(format!("{o} (Prometheus {t})"))
            };
        }
        "vector" | "matrix" => {}
        other => return Err(format!("unexpected result type {other}")),
    }
    let series = |r: &Value| -> Vec<(String, Value)> {
        r.as_array()
            .unwrap()
            .iter()
            .map(|s| (key(&s["metric"]), s.clone()))
            .collect()
    };
    let (ts, os) = (series(t), series(o));
    let (tk, ok): (Vec<&String>, Vec<&String>) = (
        ts.iter().map(|s| &s.0).collect(),
        os.iter().map(|s| &s.0).collect(),
    );
    if ordered && tk != ok {
        return Err(format!("order {ok:?} (Prometheus {tk:?})"));
    }
    let (tm, om): (BTreeMap<_, _>, BTreeMap<_, _>) =
        (ts.iter().cloned().collect(), os.iter().cloned().collect());
    if tm.len() != ts.len() || om.len() != os.len() {
        return Err("a series twice in one answer".into());
    }
    if tm.keys().ne(om.keys()) {
        let only_t: Vec<_> = tm.keys().filter(|k| !om.contains_key(*k)).collect();
        let only_o: Vec<_> = om.keys().filter(|k| !tm.contains_key(*k)).collect();
        return Err(format!(
            "series differ: only Prometheus has {only_t:?}, only the portal {only_o:?}"
        ));
    }
    for (k, ts) in &tm {
        let os = &om[k];
        let points = |s: &Value| -> Vec<Value> {
            if kind == "vector" {
                vec![s["value"].clone()]
            } else {
                s["values"].as_array().unwrap().clone()
            }
        };
        let (tp, op) = (points(ts), points(os));
        let t_times: Vec<&Value> = tp.iter().map(|p| &p[0]).collect();
        let o_times: Vec<&Value> = op.iter().map(|p| &p[0]).collect();
        if t_times != o_times {
            return Err(format!(
                "{k}: timestamps {o_times:?} (Prometheus {t_times:?})"
            ));
        }
        for (a, b) in tp.iter().zip(&op) {
            let (a, b) = (number(&a[1]), number(&b[1]));
            if !close(a, b) {
                return Err(format!("{k} at {}: portal {b}, Prometheus {a}", tp[0][0]));
            }
        }
    }
    Ok(())
}

/// Whether both answers agree: both `data` the same ([`compare`]), or both the same error.
fn agree(
    theirs: Result<Value, String>,
    ours: Result<Value, String>,
    ordered: bool,
) -> Result<(), String> {
    match (theirs, ours) {
        (Ok(t), Ok(o)) => compare(&t, &o, ordered),
        (Err(t), Err(o)) if t == o => Ok(()),
        (t, o) => Err(format!("Prometheus {t:?}, portal {o:?}")),
    }
}

/// One side's answer to a known difference.
fn outcome(r: Result<Value, String>) -> Outcome {
    let data = r?;
    let mut series: Vec<(BTreeMap<String, String>, f64)> = data["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let labels = s["metric"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect();
            (labels, number(&s["value"][1]))
        })
        .collect();
    series.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    Ok(series)
}

#[tokio::test]
async fn the_portal_and_prometheus_2_42_answer_the_same_queries_on_the_same_samples() {
    // Data: 50 minutes ending a minute or two ago, from a whole minute.
    let now_ms = (e2e::now_seconds() * 1000.0) as i64;
    let t0_ms = (now_ms - 90_000 - STEPS as i64 * STEP_MS) / 60_000 * 60_000;
    let specs = data();

    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let (s, token) = portal
        .admin()
        .post(
            "/api/v1/tokens",
            json!({"name": "differential", "scopes": ["ingest"]}),
        )
        .await;
    assert_eq!(s, 201, "{token}");
    let token = token["token"].as_str().unwrap().to_owned();
    let prom = Prometheus::receiving().await;

    // The same bodies to both, five minutes of samples at a time, in time order.
    let http = reqwest::Client::new();
    let mut samples = 0;
    for from in (0..STEPS).step_by(20) {
        let part = window(&specs, t0_ms, STEP_MS, from..(from + 20).min(STEPS));
        samples += e2e::remote_write::sample_count(&part);
        for body in encode_in_parts(&part, 5_000) {
            send(
                &http,
                &portal.url("/api/v1/write"),
                Some(&token),
                body.clone(),
            )
            .await
            .expect("the portal takes the samples");
            send(&http, &format!("{}/api/v1/write", prom.url()), None, body)
                .await
                .expect("Prometheus takes the samples");
        }
    }
    assert!(samples > 40_000, "{samples} samples");

    let ours = Api {
        base: portal.url("/prometheus/api/v1"),
        basic: Some(("admin", ADMIN_PASSWORD)),
        http: http.clone(),
    };
    let theirs = Api {
        base: format!("{}/api/v1", prom.url()),
        basic: None,
        http: http.clone(),
    };
    let t0 = t0_ms as f64 / 1000.0;
    let at_step = |n: f64| t0 + n * STEP_MS as f64 / 1000.0;
    // In the search gap (26.5 steps after its last sample) and in reviewer/code's stale gap.
    let instants = [at_step(125.5), at_step(160.5)];
    let range = (at_step(20.5), at_step(199.5), 60.0);
    let at = format!("{}", at_step(90.5));

    let mut failures = Vec::new();
    let (mut asked_instant, mut asked_range) = (0, 0);
    let pairs = QUERIES
        .iter()
        .map(|q| (*q, *q, true))
        .chain(INSTANT_ONLY.iter().map(|q| (*q, *q, false)))
        .chain(RENAMED.iter().map(|(p, o)| (*p, *o, true)));
    for (their_query, our_query, with_range) in pairs {
        let (their_query, our_query) = (
            their_query.replace("$AT", &at),
            our_query.replace("$AT", &at),
        );
        let ordered = our_query.starts_with("sort");
        for time in instants {
            asked_instant += 1;
            let outcome = agree(
                theirs.instant(&their_query, time).await,
                ours.instant(&our_query, time).await,
                ordered,
            );
            if let Err(e) = outcome {
                failures.push(format!("instant {our_query} @ {time}: {e}"));
            }
        }
        if with_range {
            asked_range += 1;
            let outcome = agree(
                theirs.range(&their_query, range).await,
                ours.range(&our_query, range).await,
                false,
            );
            if let Err(e) = outcome {
                failures.push(format!("range {our_query}: {e}"));
            }
        }
    }

    // The known differences differ exactly as explained.
    let sessions = specs
        .iter()
        .find(|s| s.labels[0].1 == "keiko_user_sessions_active")
        .unwrap();
    for known in KNOWN_DIFFERENCES {
        let time = match known.when {
            When::SessionsSample(n, plus) => {
                sessions.time(t0_ms, STEP_MS, n) as f64 / 1000.0 + plus
            }
            When::Grid(n, plus) => at_step(n as f64) + plus,
        };
        let (p, o) = (
            outcome(theirs.instant(known.query, time).await),
            outcome(ours.instant(known.query, time).await),
        );
        if !(known.check)(&p, &o) {
            failures.push(format!(
                "known difference {} no longer as explained ({}; expected {}): Prometheus \
                 {p:?}, portal {o:?}",
                known.query, known.why, known.expected
            ));
        }
    }

    println!(
        "{} series, {samples} samples; {asked_instant} instant and {asked_range} range queries \
         compared, {} known differences checked; {} mismatches",
        specs.len(),
        KNOWN_DIFFERENCES.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} queries differ:\n{}",
        failures.len(),
        asked_instant + asked_range,
        failures.join("\n")
    );
}
