//! The exemplars a chart draws: read from `/api/v1/query_exemplars` answers, those with a
//! trace id inside the chart's range, at most a given number, evenly picked over time.

use app::components::chart_model::ExemplarPoint;
use serde_json::Value;

/// Label names that hold an exemplar's trace id (OpenMetrics' and OpenTelemetry's usage).
const TRACE_ID_LABELS: [&str; 3] = ["trace_id", "traceID", "traceId"];

/// A trace id a link may carry: 1 to 32 hex digits.
fn trace_id(labels: &Value) -> Option<String> {
    TRACE_ID_LABELS
        .iter()
        .find_map(|k| labels.get(*k)?.as_str())
        .filter(|id| (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
}

/// `name{a="b", …}` for a series' labels.
fn series_text(labels: &Value) -> String {
    let Some(map) = labels.as_object() else {
        return String::new();
    };
    let name = map.get("__name__").and_then(Value::as_str).unwrap_or("");
    let rest: Vec<String> = map
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={:?}", v.as_str().unwrap_or_default()))
        .collect();
    format!("{name}{{{}}}", rest.join(", "))
}

/// A number as Prometheus writes it (a string) or as JSON does.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => s.parse().ok(),
        other => other.as_f64(),
    }
}

/// The exemplars of `answers` (each a `query_exemplars` `data` array) with a trace id and a
/// time in `[start, end]`, sorted by time; more than `max` are thinned evenly.
pub fn points(answers: &[Value], start: f64, end: f64, max: usize) -> Vec<ExemplarPoint> {
    let mut all = Vec::new();
    for group in answers.iter().filter_map(Value::as_array).flatten() {
        let series = series_text(&group["seriesLabels"]);
        for e in group["exemplars"].as_array().into_iter().flatten() {
            let (Some(t), Some(value), Some(id)) = (
                number(&e["timestamp"]),
                number(&e["value"]),
                trace_id(&e["labels"]),
            ) else {
                continue;
            };
            if t >= start && t <= end && value.is_finite() {
                all.push(ExemplarPoint {
                    t,
                    value,
                    trace_id: id,
                    series: series.clone(),
                });
            }
        }
    }
    all.sort_by(|a, b| a.t.total_cmp(&b.t));
    if all.len() > max {
        let n = all.len();
        all = (0..max).map(|i| all[i * n / max].clone()).collect();
    }
    all
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answer(times: &[f64]) -> Value {
        json!([{
            "seriesLabels": {"__name__": "rpc_seconds_bucket", "le": "0.5"},
            "exemplars": times.iter().map(|t| json!({
                "labels": {"trace_id": "ABC123"}, "value": "0.25", "timestamp": t
            })).collect::<Vec<_>>(),
        }])
    }

    #[test]
    fn exemplars_with_a_trace_id_inside_the_range_are_kept() {
        let mut data = answer(&[150.0, 50.0, 250.0]);
        data.as_array_mut().unwrap().push(json!({
            "seriesLabels": {"__name__": "x"},
            "exemplars": [
                {"labels": {"span_id": "1"}, "value": 1, "timestamp": 120.0},
                {"labels": {"traceID": "not hex"}, "value": 1, "timestamp": 120.0},
                {"labels": {"traceId": "ff"}, "value": 2.5, "timestamp": 110.0},
            ],
        }));
        let got = points(&[data], 100.0, 200.0, 10);
        assert_eq!(
            got,
            [
                ExemplarPoint {
                    t: 110.0,
                    value: 2.5,
                    trace_id: "ff".into(),
                    series: "x{}".into()
                },
                ExemplarPoint {
                    t: 150.0,
                    value: 0.25,
                    trace_id: "abc123".into(),
                    series: "rpc_seconds_bucket{le=\"0.5\"}".into()
                },
            ]
        );
    }

    #[test]
    fn many_exemplars_are_thinned_evenly_over_time() {
        let times: Vec<f64> = (0..1000).map(f64::from).collect();
        let got = points(&[answer(&times)], 0.0, 1000.0, 10);
        let picked: Vec<f64> = got.iter().map(|p| p.t).collect();
        assert_eq!(
            picked,
            [0.0, 100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0]
        );
        // Garbage answers draw nothing.
        assert!(points(&[json!({"x": 1}), json!(null)], 0.0, 1.0, 10).is_empty());
    }
}
