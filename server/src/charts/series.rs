//! Series out of a Prometheus answer, named by a legend format.

use serde_json::Value;

/// One series of a range answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Vec<(String, String)>,
    /// `(unix seconds, value)`, time-ordered; NaN where the store said so.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// `{{label}}` placeholders replaced by the series' label values (Grafana's legend
    /// format); without a format, `name{label="value", …}`.
    pub fn legend(&self, format: &str) -> String {
        if format.trim().is_empty() {
            return self.selector();
        }
        let mut out = String::new();
        let mut rest = format;
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let after = &rest[open + 2..];
            match after.find("}}") {
                Some(close) => {
                    let key = after[..close].trim();
                    out.push_str(self.label(key).unwrap_or(""));
                    rest = &after[close + 2..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// The name shown for the series: its legend, or — when that is empty, or the series
    /// has no labels at all (`sum(…)`, a scalar) — the query itself, as Grafana shows it;
    /// never `{}`.
    pub fn display_name(&self, format: &str, query: &str) -> String {
        let name = self.legend(format);
        if name.trim().is_empty() || name == "{}" {
            query.trim().to_owned()
        } else {
            name
        }
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `name{a="1", b="2"}` as Prometheus writes a series.
    pub fn selector(&self) -> String {
        let name = self.label("__name__").unwrap_or("");
        let rest: Vec<String> = self
            .labels
            .iter()
            .filter(|(k, _)| k != "__name__")
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        if rest.is_empty() && !name.is_empty() {
            name.to_owned()
        } else {
            format!("{name}{{{}}}", rest.join(", "))
        }
    }
}

fn labels_of(metric: &Value) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = metric
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    labels
}

fn sample(pair: &Value) -> Option<(f64, f64)> {
    let t = pair.get(0)?.as_f64()?;
    let v = match pair.get(1)? {
        Value::String(s) => s.parse().unwrap_or(f64::NAN),
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    Some((t, v))
}

/// The series of a `resultType: matrix` answer (the `data` member).
pub fn from_matrix(data: &Value) -> Result<Vec<Series>, String> {
    if data["resultType"] != "matrix" {
        return Err(format!(
            "expected a matrix, the source answered `{}`",
            data["resultType"].as_str().unwrap_or("nothing")
        ));
    }
    let result = data["result"]
        .as_array()
        .ok_or("the answer has no `result` list")?;
    Ok(result
        .iter()
        .map(|s| Series {
            labels: labels_of(&s["metric"]),
            points: s["values"]
                .as_array()
                .map(|vs| vs.iter().filter_map(sample).collect())
                .unwrap_or_default(),
        })
        .collect())
}

/// The samples of a `vector` (or `scalar`) answer: labels and one `(time, value)` each.
pub fn from_vector(data: &Value) -> Result<Vec<Series>, String> {
    match data["resultType"].as_str() {
        Some("vector") => Ok(data["result"]
            .as_array()
            .ok_or("the answer has no `result` list")?
            .iter()
            .map(|s| Series {
                labels: labels_of(&s["metric"]),
                points: sample(&s["value"]).into_iter().collect(),
            })
            .collect()),
        Some("scalar") | Some("string") => Ok(vec![Series {
            labels: vec![],
            points: sample(&data["result"]).into_iter().collect(),
        }]),
        other => Err(format!(
            "expected a vector, the source answered `{}`",
            other.unwrap_or("nothing")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_series_without_labels_is_named_by_its_query() {
        let s = Series {
            labels: vec![],
            points: vec![],
        };
        assert_eq!(s.display_name("", "sum(rate(x[5m]))"), "sum(rate(x[5m]))");
        assert_eq!(s.display_name("{{job}}", "sum(x)"), "sum(x)");
    }

    #[test]
    fn legends_fill_placeholders_like_grafana() {
        let s = Series {
            labels: vec![
                ("__name__".into(), "keiko_http_requests_total".into()),
                ("endpoint".into(), "/api/chat".into()),
                ("method".into(), "POST".into()),
            ],
            points: vec![],
        };
        assert_eq!(s.legend("{{method}} {{endpoint}}"), "POST /api/chat");
        assert_eq!(s.legend("{{ missing }}x"), "x");
        assert_eq!(
            s.legend(""),
            "keiko_http_requests_total{endpoint=\"/api/chat\", method=\"POST\"}"
        );
    }

    #[test]
    fn reads_matrices_and_vectors() {
        let m = json!({"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[1,"2"],[2,"NaN"]]}]});
        let s = from_matrix(&m).unwrap();
        assert_eq!(s[0].points[0], (1.0, 2.0));
        assert!(s[0].points[1].1.is_nan());
        let v = json!({"resultType":"vector","result":[{"metric":{},"value":[5,"7.5"]}]});
        assert_eq!(from_vector(&v).unwrap()[0].points, vec![(5.0, 7.5)]);
        assert!(from_matrix(&v).is_err());
    }
}
