//! Query results in the JSON shapes of Prometheus's HTTP API: sample values as strings
//! (`"1.5"`, `"NaN"`, `"+Inf"`), times as Unix seconds.

use promql::{Labels, Value};
use serde_json::{json, Map, Value as Json};

/// A value as Prometheus writes it (Go's `FormatFloat(v, 'f', -1, 64)`: no exponent).
pub fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// A time as Prometheus writes it: whole seconds as an integer (`1700000000`, not
/// `1700000000.0`), otherwise seconds with the milliseconds (`1700000000.5`).
fn seconds(t_ms: i64) -> Json {
    if t_ms % 1000 == 0 {
        json!(t_ms / 1000)
    } else {
        json!(t_ms as f64 / 1000.0)
    }
}

pub fn labels(l: &Labels) -> Json {
    Json::Object(
        l.iter()
            .map(|(n, v)| (n.to_owned(), Json::String(v.to_owned())))
            .collect::<Map<_, _>>(),
    )
}

/// `data` of a query answer: `{"resultType", "result"}`.
pub fn data(value: &Value) -> Json {
    match value {
        Value::Scalar { t, v } => {
            json!({"resultType": "scalar", "result": [seconds(*t), number(*v)]})
        }
        Value::String { t, s } => json!({"resultType": "string", "result": [seconds(*t), s]}),
        Value::Vector(samples) => json!({
            "resultType": "vector",
            "result": samples
                .iter()
                .map(|s| json!({"metric": labels(&s.labels), "value": [seconds(s.t), number(s.v)]}))
                .collect::<Vec<_>>(),
        }),
        Value::Matrix(series) => json!({
            "resultType": "matrix",
            "result": series
                .iter()
                .map(|s| json!({
                    "metric": labels(&s.labels),
                    "values": s.samples.iter().map(|(t, v)| json!([seconds(*t), number(*v)])).collect::<Vec<_>>(),
                }))
                .collect::<Vec<_>>(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_prometheus_writes_them() {
        assert_eq!(number(1.0), "1");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(1e21), "1000000000000000000000");
        assert_eq!(number(1e-7), "0.0000001");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn a_vector_has_prometheus_shape() {
        let v = Value::Vector(vec![promql::Sample {
            labels: Labels::new([("__name__", "up"), ("job", "a")]),
            t: 1_500,
            v: 1.0,
        }]);
        assert_eq!(
            data(&v),
            json!({"resultType": "vector", "result": [{"metric": {"__name__": "up", "job": "a"}, "value": [1.5, "1"]}]})
        );
    }

    #[test]
    fn whole_seconds_are_written_without_a_fraction() {
        let v = Value::Scalar {
            t: 1_700_000_000_000,
            v: 2.0,
        };
        assert_eq!(
            serde_json::to_string(&data(&v)).unwrap(),
            r#"{"result":[1700000000,"2"],"resultType":"scalar"}"#
        );
        assert_eq!(seconds(-1_500), json!(-1.5));
    }
}
