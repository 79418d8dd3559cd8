//! One rule's result turned into what it produces, as Prometheus's `AlertingRule.Eval` and
//! `RecordingRule.Eval` do: alert labels and annotations templated per series, recorded
//! series renamed and relabelled, and the `ALERTS` / `ALERTS_FOR_STATE` series of the
//! active alerts. Pure functions over query answers; the caller queries and writes.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::Value;

use super::state::{AlertState, Found, Labels, RuleAlerts};
use crate::gotemplate::{self as template, AlertData, Querier};
use crate::rules::model::RuleSpec;
use crate::sources::{InstantQuery, MetricsSource};

/// One element of an instant query's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
}

/// The portal-wide inputs of templates.
#[derive(Clone, Debug, Default)]
pub struct TemplateContext {
    pub external_labels: Labels,
    pub external_url: String,
}

/// Prometheus's `time` parameter for a time in milliseconds.
pub fn time_param(ts_ms: i64) -> String {
    format!("{}.{:03}", ts_ms.div_euclid(1000), ts_ms.rem_euclid(1000))
}

/// An instant query at `ts_ms` with a deadline, read as samples.
pub async fn instant(
    source: &dyn MetricsSource,
    query: &str,
    ts_ms: i64,
    timeout: Duration,
) -> Result<Vec<Sample>, String> {
    let q = InstantQuery {
        query: query.to_owned(),
        time: Some(time_param(ts_ms)),
        timeout: Some(format!("{}ms", timeout.as_millis())),
    };
    match tokio::time::timeout(timeout, source.query(&q)).await {
        Ok(Ok(data)) => samples(&data),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "the query did not finish within {} ms",
            timeout.as_millis()
        )),
    }
}

fn number(v: &Value) -> Result<f64, String> {
    match v {
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "+Inf" | "Inf" => Ok(f64::INFINITY),
            "-Inf" => Ok(f64::NEG_INFINITY),
            s => s
                .parse()
                .map_err(|_| format!("`{s}` is not a sample value")),
        },
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| "a sample value out of range".into()),
        _ => Err("a sample without a value".into()),
    }
}

/// The samples of a query's `data`: a vector, or a scalar as one sample without labels
/// (as Prometheus's rule manager reads a scalar result).
pub fn samples(data: &Value) -> Result<Vec<Sample>, String> {
    match data["resultType"].as_str() {
        Some("vector") => data["result"]
            .as_array()
            .map(|a| a.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|s| {
                let labels = s["metric"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(Sample {
                    labels,
                    value: number(&s["value"][1])?,
                })
            })
            .collect(),
        Some("scalar") => Ok(vec![Sample {
            labels: Labels::new(),
            value: number(&data["result"][1])?,
        }]),
        Some(other) => Err(format!(
            "rule result is not a vector or scalar but a {other}"
        )),
        None => Err("the source answered without a result type".into()),
    }
}

/// Sets a label to a templated value; an empty value removes it (Prometheus's builder).
fn set(labels: &mut Labels, name: &str, value: String) {
    if value.is_empty() {
        labels.remove(name);
    } else {
        labels.insert(name.to_owned(), value);
    }
}

/// The alerts an alerting rule's result asks for: labels (series labels without
/// `__name__`, the rule's labels templated, `alertname`) and templated annotations.
pub fn alerts_found(
    rule: &RuleSpec,
    result: Vec<Sample>,
    ctx: &TemplateContext,
    querier: &dyn Querier,
) -> Result<Vec<Found>, String> {
    let name = rule.name();
    let template_name = format!("__alert_{name}");
    let mut out = Vec::with_capacity(result.len());
    let mut seen = HashSet::with_capacity(result.len());
    for s in result {
        let data = AlertData {
            labels: &s.labels,
            external_labels: &ctx.external_labels,
            external_url: &ctx.external_url,
            value: s.value,
        };
        let mut labels = s.labels.clone();
        labels.remove("__name__");
        for (k, v) in &rule.labels {
            set(
                &mut labels,
                k,
                template::expand(&template_name, v, &data, querier),
            );
        }
        labels.insert("alertname".into(), name.to_owned());
        let annotations: BTreeMap<String, String> = rule
            .annotations
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    template::expand(&template_name, v, &data, querier),
                )
            })
            .collect();
        if !seen.insert(labels.clone()) {
            return Err(
                "vector contains metrics with the same labelset after applying alert labels".into(),
            );
        }
        out.push(Found {
            labels,
            annotations,
            value: s.value,
        });
    }
    Ok(out)
}

/// The alert a rule raises for "no data" or "error" when it is set to `alerting`: the
/// rule's labels and annotations (templated without series labels), and `reason`.
pub fn synthetic_alert(
    rule: &RuleSpec,
    reason: &str,
    ctx: &TemplateContext,
    querier: &dyn Querier,
) -> Found {
    let mut found = alerts_found(
        rule,
        vec![Sample {
            labels: Labels::new(),
            value: f64::NAN,
        }],
        ctx,
        querier,
    )
    .unwrap_or_default()
    .pop()
    .unwrap_or(Found {
        labels: Labels::new(),
        annotations: Labels::new(),
        value: f64::NAN,
    });
    found
        .annotations
        .insert("keiko_reason".into(), reason.to_owned());
    found
}

/// The series a recording rule writes: renamed to the record name, the rule's labels set.
pub fn recorded(rule: &RuleSpec, result: Vec<Sample>) -> Result<Vec<Sample>, String> {
    let mut seen = HashSet::with_capacity(result.len());
    result
        .into_iter()
        .map(|mut s| {
            s.labels.insert("__name__".into(), rule.name().to_owned());
            for (k, v) in &rule.labels {
                set(&mut s.labels, k, v.clone());
            }
            if !seen.insert(s.labels.clone()) {
                return Err(
                    "vector contains metrics with the same labelset after applying rule labels"
                        .to_owned(),
                );
            }
            Ok(s)
        })
        .collect()
}

/// `ALERTS{…, alertstate}` = 1 and `ALERTS_FOR_STATE{…}` = activeAt (Unix seconds) for
/// every pending and firing alert.
pub fn alert_series(alerts: &RuleAlerts) -> Vec<Sample> {
    let mut out = Vec::new();
    for a in alerts.current() {
        let mut l = a.labels.clone();
        l.insert("__name__".into(), "ALERTS".into());
        let state = match a.state {
            AlertState::Firing => "firing",
            _ => "pending",
        };
        l.insert("alertstate".into(), state.into());
        out.push(Sample {
            labels: l,
            value: 1.0,
        });
        let mut l = a.labels.clone();
        l.insert("__name__".into(), "ALERTS_FOR_STATE".into());
        out.push(Sample {
            labels: l,
            value: (a.active_at / 1000) as f64,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::gotemplate::NoQueries;

    fn rule(yaml: &str) -> RuleSpec {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn an_alert_drops_the_metric_name_and_templates_labels_and_annotations() {
        let r = rule("alert: AgentTaskFailures\nexpr: x > 0.05\nlabels: {severity: critical, agent: '{{ $labels.agent_id }}'}\nannotations: {description: 'Agent {{ $labels.agent_id }} hat Fehlerrate von {{ $value }}'}");
        let result = samples(&json!({"resultType": "vector", "result": [
            {"metric": {"__name__": "x", "agent_id": "a7"}, "value": [1, "0.25"]}
        ]}))
        .unwrap();
        let found = alerts_found(&r, result, &TemplateContext::default(), &NoQueries).unwrap();
        assert_eq!(
            found[0].labels,
            Labels::from([
                ("agent".into(), "a7".into()),
                ("agent_id".into(), "a7".into()),
                ("alertname".into(), "AgentTaskFailures".into()),
                ("severity".into(), "critical".into()),
            ])
        );
        assert_eq!(
            found[0].annotations["description"],
            "Agent a7 hat Fehlerrate von 0.25"
        );
    }

    #[test]
    fn labels_that_collapse_two_series_into_one_are_an_error() {
        let r = rule("alert: A\nexpr: x\nlabels: {instance: same}");
        let result = samples(&json!({"resultType": "vector", "result": [
            {"metric": {"instance": "a"}, "value": [1, "1"]},
            {"metric": {"instance": "b"}, "value": [1, "1"]}
        ]}))
        .unwrap();
        assert!(alerts_found(&r, result, &TemplateContext::default(), &NoQueries).is_err());
    }

    #[test]
    fn a_recording_rule_renames_and_relabels_and_a_scalar_is_one_series() {
        let r = rule("record: job:up:sum\nexpr: sum(up)\nlabels: {team: a}");
        let out = recorded(
            &r,
            samples(&json!({"resultType": "scalar", "result": [1, "3"]})).unwrap(),
        )
        .unwrap();
        assert_eq!(out[0].value, 3.0);
        assert_eq!(out[0].labels["__name__"], "job:up:sum");
        assert_eq!(out[0].labels["team"], "a");
        assert_eq!(time_param(1_500), "1.500");
    }
}
