//! Rule unit tests in promtool's format (`promtool test rules`, Prometheus 2.42): a YAML file
//! with `rule_files` (here: namespaces of stored rule groups) or inline `groups`,
//! `evaluation_interval`, `group_eval_order` and `tests`, each test group with
//! `input_series` in the expanding notation, `alert_rule_test` and `promql_expr_test`.
//! The series are loaded into an in-memory store, the rules evaluated every
//! `evaluation_interval` from 0 to the largest `eval_time` with the same steps as live
//! evaluation (`group::simulate_step`: `for`, `keep_firing_for`, templates, recorded series,
//! `ALERTS`, staleness markers), written back rule by rule as Prometheus commits them, and
//! queried with the `promql` engine. Verdicts and messages follow promtool's `unittest.go`.
//!
//! Difference: the engine selects ranges as Prometheus 3 does (left-open), promtool 2.42
//! left-closed; a test whose verdict hangs on a sample exactly at a range's start (e.g.
//! `count_over_time`) may differ.

use std::collections::{BTreeMap, HashMap};

use promql::promqltest::{parse_labels, parse_values, Point};
use promql::{Engine, EngineOptions, MemStorage, Value as PromValue};
use serde::Deserialize;
use serde_json::{json, Value};

use super::eval::{Sample, TemplateContext};
use super::group::{simulate_step, timing_of, RuleStatus};
use super::state::{AlertState, Labels};
use super::views::value_text;
use crate::error::Error;
use crate::gotemplate::{Querier, QueryResult};
use crate::promql_syntax::duration::PromDuration;
use crate::rules::model::{GroupSpec, RuleSpec};
use crate::rules::namespace::Namespace;

/// Test groups per file, at most.
pub const MAX_TESTS: usize = 100;
/// Input series per test group, at most.
pub const MAX_SERIES: usize = 10_000;
/// Input samples per test group, at most.
pub const MAX_SAMPLES: usize = 1_000_000;
/// Rule evaluations per test group (rules × evaluation steps), at most.
pub const MAX_EVALUATIONS: usize = 200_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    #[serde(default)]
    pub rule_files: Vec<String>,
    /// The portal's extension: rule groups written into the file.
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
    #[serde(default)]
    evaluation_interval: Option<String>,
    #[serde(default)]
    group_eval_order: Vec<String>,
    #[serde(default)]
    tests: Vec<TestGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestGroup {
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    input_series: Vec<InputSeries>,
    #[serde(default)]
    alert_rule_test: Vec<AlertTest>,
    #[serde(default)]
    promql_expr_test: Vec<ExprTest>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    #[serde(default)]
    external_url: String,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSeries {
    series: String,
    #[serde(default)]
    values: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertTest {
    eval_time: String,
    #[serde(default)]
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<ExpAlert>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpAlert {
    #[serde(default)]
    exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    exp_annotations: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExprTest {
    expr: String,
    eval_time: String,
    #[serde(default)]
    exp_samples: Vec<ExpSample>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpSample {
    labels: String,
    value: f64,
}

/// Parses the file; a YAML error names its line.
pub fn parse(text: &str) -> Result<TestFile, Error> {
    let file: TestFile = serde_norway::from_str(text).map_err(|e| {
        let field = e
            .location()
            .map(|l| format!("line {}", l.line()))
            .unwrap_or_else(|| "body".into());
        Error::invalid(field, e.to_string())
    })?;
    if file.tests.len() > MAX_TESTS {
        return Err(Error::invalid(
            "tests",
            format!("at most {MAX_TESTS} test groups"),
        ));
    }
    Ok(file)
}

/// `POST /api/v1/rules/test`: parses the file, gathers its rule groups (each `rule_files`
/// entry names a namespace of stored groups; inline `groups` are validated as a save
/// validates them) and runs the tests on the bounded pool for checks.
pub async fn test_file(db: &sqlx::SqlitePool, text: &str) -> Result<Value, Error> {
    let file = parse(text)?;
    let mut groups = Vec::new();
    for (i, name) in file.rule_files.iter().enumerate() {
        let field = format!("rule_files[{i}]");
        let ns = Namespace::parse(name).map_err(|m| Error::invalid(&field, m))?;
        let stored = crate::rules::store::list_in(db, &ns).await?;
        if stored.is_empty() {
            return Err(Error::invalid(
                field,
                format!("no stored rule group is in the namespace `{name}`"),
            ));
        }
        groups.extend(stored.into_iter().map(|g| g.spec));
    }
    for g in &file.groups {
        crate::rules::validate::validate_group(g).map_err(crate::rules::invalid)?;
        groups.push(g.clone());
    }
    crate::cpu::CHECKS.run(move || run(&file, &groups)).await?
}

/// A duration as promtool reads it (`model.Duration`).
fn duration(field: &str, text: &str) -> Result<i64, Error> {
    PromDuration::parse(text.trim())
        .map(|d| d.millis() as i64)
        .map_err(|m| Error::invalid(field, m))
}

/// Go's `model.Duration.String()`: `5m`, `1h30m`, `0s`.
fn model_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut rest = ms;
    let mut out = String::new();
    for (unit, size) in [
        ("y", 365 * 24 * 3_600_000),
        ("w", 7 * 24 * 3_600_000),
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// Go's `time.Duration.String()` for whole milliseconds: `5m0s`, `1h0m0s`, `1.5s`.
fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let (h, m) = (ms / 3_600_000, (ms / 60_000) % 60);
    let s = (ms % 60_000) as f64 / 1000.0;
    let secs = format!("{s}s");
    if h > 0 {
        format!("{h}h{m}m{secs}")
    } else if m > 0 {
        format!("{m}m{secs}")
    } else {
        secs
    }
}

fn labels_text(l: &Labels) -> String {
    crate::notify::payloads::label_set(l)
}

/// `strconv.FormatFloat(v, 'E', -1, 64)`.
fn float_text(v: f64) -> String {
    value_text(v).replace('e', "E")
}

fn indent(text: &str, prefix: &str) -> String {
    text.split('\n')
        .collect::<Vec<_>>()
        .join(&format!("\n{prefix}"))
}

type Alerts = Vec<(Labels, Labels)>;

/// promtool's `labelsAndAnnotations.String()`.
fn alerts_text(list: &Alerts) -> String {
    if list.is_empty() {
        return "[]".into();
    }
    let item = |(l, a): &(Labels, Labels)| {
        indent(
            &format!(
                "\nLabels:{}\nAnnotations:{}",
                labels_text(l),
                labels_text(a)
            ),
            "  ",
        )
    };
    let mut s = format!("[\n0:{}", item(&list[0]));
    for (i, x) in list.iter().enumerate().skip(1) {
        s.push_str(&format!(",\n{i}:{}", item(x)));
    }
    s.push_str("\n]");
    s
}

fn samples_text(list: &[(Labels, f64)]) -> String {
    if list.is_empty() {
        return "nil".into();
    }
    list.iter()
        .map(|(l, v)| format!("{} {}", labels_text(l), float_text(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn to_labels(l: &promql::Labels) -> Labels {
    l.iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn to_promql(l: &Labels) -> promql::Labels {
    promql::Labels::new(l.iter().map(|(k, v)| (k.clone(), v.clone())))
}

/// An instant query as promtool's `query` reads it: a vector, or a scalar as one sample.
fn instant(
    engine: &Engine,
    store: &MemStorage,
    expr: &str,
    ts: i64,
) -> Result<Vec<Sample>, String> {
    let res = engine
        .instant_query(store, expr, ts)
        .map_err(|e| e.to_string())?;
    match res.value {
        PromValue::Vector(v) => Ok(v
            .into_iter()
            .map(|s| Sample {
                labels: to_labels(&s.labels),
                value: s.v,
            })
            .collect()),
        PromValue::Scalar { v, .. } => Ok(vec![Sample {
            labels: Labels::new(),
            value: v,
        }]),
        _ => Err("rule result is not a vector or scalar".into()),
    }
}

struct MemQuerier<'a> {
    engine: &'a Engine,
    store: &'a MemStorage,
    ts: i64,
}

impl Querier for MemQuerier<'_> {
    fn query(&self, q: &str) -> Result<QueryResult, String> {
        Ok(instant(self.engine, self.store, q, self.ts)?
            .into_iter()
            .map(|s| (s.labels, s.value))
            .collect())
    }
}

/// One test group's verdict.
struct Verdict {
    errors: Vec<String>,
}

/// Runs every test group of `file` against `groups` (in evaluation order). CPU-bound:
/// call it off the async workers.
pub fn run(file: &TestFile, groups: &[GroupSpec]) -> Result<Value, Error> {
    let eval_interval = match &file.evaluation_interval {
        Some(d) => duration("evaluation_interval", d)?,
        None => 60_000,
    };
    if eval_interval <= 0 {
        return Err(Error::invalid("evaluation_interval", "must be above 0"));
    }
    let mut order: HashMap<&str, usize> = HashMap::new();
    for (i, g) in file.group_eval_order.iter().enumerate() {
        if order.insert(g.as_str(), i).is_some() {
            return Err(Error::invalid(
                format!("group_eval_order[{i}]"),
                format!("group name repeated in evaluation order: {g}"),
            ));
        }
    }
    let mut ordered: Vec<&GroupSpec> = groups.iter().collect();
    ordered.sort_by_key(|g| order.get(g.name.as_str()).copied().unwrap_or(0));
    let rules: Vec<&RuleSpec> = ordered.iter().flat_map(|g| g.rules.iter()).collect();
    let mut results = Vec::new();
    let mut output = String::new();
    for (i, tg) in file.tests.iter().enumerate() {
        let verdict = run_group(i, tg, &rules, eval_interval)?;
        for e in &verdict.errors {
            output.push_str(e);
            output.push_str("\n\n");
        }
        results.push(json!({
            "index": i,
            "name": tg.name,
            "result": if verdict.errors.is_empty() { "pass" } else { "fail" },
            "errors": verdict.errors,
        }));
    }
    let passed = results.iter().all(|r| r["result"] == "pass");
    let output = if passed {
        "  SUCCESS\n".to_owned()
    } else {
        format!("  FAILED:\n{output}")
    };
    Ok(json!({
        "result": if passed { "pass" } else { "fail" },
        "tests": results,
        "output": output,
    }))
}

fn run_group(
    index: usize,
    tg: &TestGroup,
    rules: &[&RuleSpec],
    eval_interval: i64,
) -> Result<Verdict, Error> {
    let field = |f: &str| format!("tests[{index}].{f}");
    let interval = match &tg.interval {
        Some(d) => duration(&field("interval"), d)?,
        None => eval_interval,
    };
    if tg.input_series.len() > MAX_SERIES {
        return Err(Error::invalid(
            field("input_series"),
            format!("at most {MAX_SERIES} series"),
        ));
    }
    let mut store = MemStorage::new();
    let mut loaded = 0usize;
    for (i, s) in tg.input_series.iter().enumerate() {
        let f = field(&format!("input_series[{i}]"));
        let labels =
            parse_labels(&s.series).map_err(|m| Error::invalid(format!("{f}.series"), m))?;
        let values =
            parse_values(&s.values).map_err(|m| Error::invalid(format!("{f}.values"), m))?;
        loaded += values.len();
        if loaded > MAX_SAMPLES {
            return Err(Error::invalid(
                f,
                format!("the test group loads more than {MAX_SAMPLES} samples"),
            ));
        }
        for (k, v) in values.into_iter().enumerate() {
            let t = k as i64 * interval;
            match v {
                None => {}
                Some(Point::Float(x)) => store.add_sample(&labels, t, x),
                Some(Point::Stale) => store.add_sample(&labels, t, promql::value::stale_nan()),
                Some(Point::Histogram(h, _)) => store.add_histogram(&labels, t, *h),
            }
        }
    }
    let mut alert_tests: BTreeMap<i64, Vec<&AlertTest>> = BTreeMap::new();
    for (i, a) in tg.alert_rule_test.iter().enumerate() {
        if a.alertname.is_empty() {
            let in_group = if tg.name.is_empty() {
                String::new()
            } else {
                format!(" (in TestGroup {})", tg.name)
            };
            return Ok(Verdict {
                errors: vec![format!(
                    "an item under alert_rule_test misses required attribute alertname at eval_time {}{in_group}",
                    a.eval_time
                )],
            });
        }
        let t = duration(
            &field(&format!("alert_rule_test[{i}].eval_time")),
            &a.eval_time,
        )?;
        alert_tests.entry(t).or_default().push(a);
    }
    let mut expr_times = Vec::new();
    for (i, e) in tg.promql_expr_test.iter().enumerate() {
        expr_times.push(duration(
            &field(&format!("promql_expr_test[{i}].eval_time")),
            &e.eval_time,
        )?);
    }
    let max_t = alert_tests
        .keys()
        .chain(expr_times.iter())
        .copied()
        .max()
        .unwrap_or(0);
    let steps = (max_t / eval_interval + 1) as usize;
    if steps.saturating_mul(rules.len().max(1)) > MAX_EVALUATIONS {
        return Err(Error::invalid(
            format!("tests[{index}]"),
            format!(
                "{steps} evaluation steps of {} rules exceed {MAX_EVALUATIONS} rule evaluations",
                rules.len()
            ),
        ));
    }
    let engine = Engine::new(EngineOptions {
        timeout: Some(std::time::Duration::from_secs(10)),
        ..Default::default()
    });
    let templates = TemplateContext {
        external_labels: tg.external_labels.clone(),
        external_url: tg.external_url.clone(),
    };
    let mut statuses: Vec<RuleStatus> = rules.iter().map(|_| RuleStatus::default()).collect();
    let mut errors = Vec::new();
    let mut pending_alert_times = alert_tests.keys().copied().peekable();
    let mut ts = 0i64;
    while ts <= max_t {
        let mut eval_errors = Vec::new();
        for (rule, status) in rules.iter().zip(statuses.iter_mut()) {
            let result = instant(&engine, &store, &rule.expr, ts);
            let timing = timing_of(rule, 0, 0);
            let (error, writes) = {
                let querier = MemQuerier {
                    engine: &engine,
                    store: &store,
                    ts,
                };
                simulate_step(rule, result, status, ts, timing, &templates, &querier)
            };
            for w in writes {
                store.add_sample(&to_promql(&w.labels), ts, w.value);
            }
            if let Some(e) = error {
                eval_errors.push(format!(
                    "    rule: {}, time: {}, err: {e}",
                    rule.name(),
                    go_duration(ts)
                ));
            }
        }
        if !eval_errors.is_empty() {
            errors.extend(eval_errors);
            return Ok(Verdict { errors });
        }
        while let Some(t) = pending_alert_times.next_if(|t| ts <= *t && *t < ts + eval_interval) {
            for test in &alert_tests[&t] {
                let mut got: Alerts = rules
                    .iter()
                    .zip(&statuses)
                    .filter(|(r, _)| r.is_alert() && r.name() == test.alertname)
                    .flat_map(|(_, s)| s.alerts.current())
                    .filter(|a| a.state == AlertState::Firing)
                    .map(|a| (a.labels.clone(), a.annotations.clone()))
                    .collect();
                let mut exp: Alerts = test
                    .exp_alerts
                    .iter()
                    .map(|a| {
                        let mut l = a.exp_labels.clone();
                        l.insert("alertname".into(), test.alertname.clone());
                        (l, a.exp_annotations.clone())
                    })
                    .collect();
                got.sort();
                exp.sort();
                if got != exp {
                    let name = if tg.name.is_empty() {
                        String::new()
                    } else {
                        format!("    name: {},\n", tg.name)
                    };
                    errors.push(format!(
                        "{name}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                        test.alertname,
                        model_duration(t),
                        indent(&alerts_text(&exp), "            "),
                        indent(&alerts_text(&got), "            ")
                    ));
                }
            }
        }
        ts += eval_interval;
    }
    'tests: for (test, t) in tg.promql_expr_test.iter().zip(&expr_times) {
        let time = model_duration(*t);
        let got = match instant(&engine, &store, &test.expr, *t) {
            Ok(g) => g,
            Err(e) => {
                errors.push(format!("    expr: {:?}, time: {time}, err: {e}", test.expr));
                continue;
            }
        };
        let mut got: Vec<(Labels, f64)> = got.into_iter().map(|s| (s.labels, s.value)).collect();
        let mut exp = Vec::new();
        for s in &test.exp_samples {
            match parse_labels(&s.labels) {
                Ok(l) => exp.push((to_labels(&l), s.value)),
                Err(e) => {
                    errors.push(format!(
                        "    expr: {:?}, time: {time}, err: labels {:?}: {e}",
                        test.expr, s.labels
                    ));
                    continue 'tests;
                }
            }
        }
        exp.sort_by(|a, b| a.0.cmp(&b.0));
        got.sort_by(|a, b| a.0.cmp(&b.0));
        // reflect.DeepEqual: floats compare with ==, so NaN never equals.
        let same =
            exp.len() == got.len() && exp.iter().zip(&got).all(|(e, g)| e.0 == g.0 && e.1 == g.1);
        if !same {
            errors.push(format!(
                "    expr: {:?}, time: {time},\n        exp: {}\n        got: {}",
                test.expr,
                samples_text(&exp),
                samples_text(&got)
            ));
        }
    }
    Ok(Verdict { errors })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(yaml: &str) -> Value {
        let file = parse(yaml).unwrap();
        run(&file, &file.groups).unwrap()
    }

    #[test]
    fn durations_print_as_go_prints_them() {
        assert_eq!(model_duration(0), "0s");
        assert_eq!(model_duration(90_000), "1m30s");
        assert_eq!(model_duration(3_600_000), "1h");
        assert_eq!(go_duration(300_000), "5m0s");
        assert_eq!(go_duration(3_600_000), "1h0m0s");
        assert_eq!(float_text(1.0), "1E+00");
        assert_eq!(float_text(0.5), "5E-01");
    }

    #[test]
    fn an_alert_fires_after_for_and_a_wrong_expectation_fails_with_promtool_s_message() {
        let file = r#"
groups:
  - name: g
    rules:
      - alert: Down
        expr: up == 0
        for: 2m
        labels: {severity: critical}
        annotations: {summary: '{{ $labels.instance }} is down'}
      - record: job:up:sum
        expr: sum by (job) (up)
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="api", instance="a"}'
        values: '1 0 0 0 0'
    alert_rule_test:
      - eval_time: 1m
        alertname: Down
      - eval_time: 3m
        alertname: Down
        exp_alerts:
          - exp_labels: {severity: critical, job: api, instance: a}
            exp_annotations: {summary: a is down}
    promql_expr_test:
      - expr: job:up:sum
        eval_time: 4m
        exp_samples:
          - labels: 'job:up:sum{job="api"}'
            value: 0
  - name: wrong
    interval: 1m
    input_series:
      - series: 'up{job="api", instance="a"}'
        values: '0x5'
    alert_rule_test:
      - eval_time: 1m
        alertname: Down
        exp_alerts:
          - exp_labels: {severity: critical, job: api, instance: a}
"#;
        let v = verdict(file);
        assert_eq!(v["tests"][0]["result"], "pass", "{v}");
        assert_eq!(v["tests"][1]["result"], "fail", "{v}");
        let msg = v["tests"][1]["errors"][0].as_str().unwrap();
        assert!(
            msg.starts_with("    name: wrong,\n    alertname: Down, time: 1m, \n        exp:[\n"),
            "{msg}"
        );
        assert!(msg.ends_with("got:[]"), "{msg}");
        assert_eq!(v["result"], "fail");
    }
}
