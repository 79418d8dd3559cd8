//! From one signal to the others, with no configuration: a chart's range and a series'
//! labels become Explore → Logs and Explore → Traces searches ("Show logs", "Show traces"
//! on Explore → Metrics and on dashboard charts), and a trace's service becomes its
//! request-rate chart; a request's correlation id links its spans to its log lines and its
//! log lines to its traces. Pure, so both pages and the trace view build the same links.
//!
//! Labels map as the conventions name them: `service`, then `service_name`, then `job` →
//! the service (the log store's `service` column, the span's `service.name`); `instance` →
//! the log attribute `instance` and the span resource's `service.instance.id` (what
//! Prometheus's OTLP receiver turns into `instance`).

use std::collections::BTreeMap;

use crate::components::chart_model::encode_pairs;
use crate::components::log_model::quote_value;
use crate::traces::model::filter_value;

/// Label names read as the service, the first one present wins.
const SERVICE_LABELS: [&str; 3] = ["service", "service_name", "job"];

/// What a series' labels say about where its logs and traces are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeriesFilters {
    pub service: Option<String>,
    pub instance: Option<String>,
}

impl SeriesFilters {
    /// The filters a series' labels give (labels not named here are not carried: the logs
    /// and spans of a service do not hold a metric's other labels).
    pub fn of(labels: &[(String, String)]) -> SeriesFilters {
        let get = |name: &str| {
            labels
                .iter()
                .find(|(k, v)| k == name && !v.is_empty())
                .map(|(_, v)| v.clone())
        };
        SeriesFilters {
            service: SERVICE_LABELS.iter().find_map(|n| get(n)),
            instance: get("instance"),
        }
    }

    /// What the filters are, for a link's title: `service=api instance=a:9100`.
    pub fn describe(&self) -> String {
        [("service", &self.service), ("instance", &self.instance)]
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The log search: `service:api AND instance:"a:9100"` (empty for no filter).
    pub fn logs_query(&self) -> String {
        let mut terms = Vec::new();
        if let Some(s) = &self.service {
            terms.push(format!("service:{}", quote_value(s)));
        }
        if let Some(i) = &self.instance {
            terms.push(format!("instance:{}", quote_value(i)));
        }
        terms.join(" AND ")
    }

    /// `/explore/logs?query=…&from=…&to=…`.
    pub fn logs_url(&self, range: &(String, String)) -> String {
        format!(
            "/explore/logs?{}",
            encode_pairs(&[
                ("query", self.logs_query()),
                ("from", range.0.clone()),
                ("to", range.1.clone()),
            ])
        )
    }

    /// `/explore/traces?service=…&filters=service.instance.id%3D…&from=…&to=…`.
    pub fn traces_url(&self, range: &(String, String)) -> String {
        let mut pairs = Vec::new();
        if let Some(s) = &self.service {
            pairs.push(("service", s.clone()));
        }
        if let Some(i) = &self.instance {
            pairs.push((
                "filters",
                format!("service.instance.id={}", filter_value(i)),
            ));
        }
        pairs.push(("from", range.0.clone()));
        pairs.push(("to", range.1.clone()));
        format!("/explore/traces?{}", encode_pairs(&pairs))
    }
}

/// Span attribute names that carry a request's correlation id, the first found wins: the
/// seed's `correlation_id` (the portal's own spans too), `correlation.id`, and the
/// `X-Correlation-ID` request header as OpenTelemetry's HTTP conventions record it.
pub const CORRELATION_KEYS: [&str; 4] = [
    "correlation_id",
    "correlation.id",
    "http.request.header.x_correlation_id",
    "http.request.header.x-correlation-id",
];

/// The correlation id among a span's attributes, else its resource's. A header recorded
/// as a list of one value (`["abc"]`) gives that value.
pub fn correlation_id_of(
    attributes: &BTreeMap<String, String>,
    resource: &BTreeMap<String, String>,
) -> Option<String> {
    [attributes, resource]
        .iter()
        .flat_map(|m| CORRELATION_KEYS.iter().filter_map(|k| m.get(*k)))
        .map(|v| {
            let v = v.trim();
            match v.strip_prefix("[\"").and_then(|r| r.strip_suffix("\"]")) {
                Some(inner) if !inner.contains('"') => inner.to_owned(),
                _ => v.to_owned(),
            }
        })
        .find(|v| !v.is_empty())
}

/// Explore → Logs with every line of request `id` (`correlation_id:"<id>"`) over `range`.
pub fn request_logs_url(id: &str, range: &(String, String)) -> String {
    format!(
        "/explore/logs?{}",
        encode_pairs(&[
            ("query", format!("correlation_id:{}", quote_value(id))),
            ("from", range.0.clone()),
            ("to", range.1.clone()),
        ])
    )
}

/// Explore → Traces with the traces whose spans carry correlation id `id` (as
/// `correlation_id`, the seed's and the portal's span attribute) over `range`; the value
/// is quoted and escaped as the filter language reads it.
pub fn request_traces_url(id: &str, range: &(String, String)) -> String {
    format!(
        "/explore/traces?{}",
        encode_pairs(&[
            ("filters", format!("correlation_id={}", filter_value(id))),
            ("from", range.0.clone()),
            ("to", range.1.clone()),
        ])
    )
}

/// The series whose labels the links carry: the focused one, or the only one; with several
/// and none chosen, none (the links carry the range alone).
pub fn chosen_series<T>(series: &[T], focus: Option<usize>) -> Option<&T> {
    match focus {
        Some(i) => series.get(i),
        None if series.len() == 1 => series.first(),
        None => None,
    }
}

/// A PromQL string literal's inside.
fn promql_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A service's request rate: the portal's own `keiko_requests_total` and the request
/// counter of OpenTelemetry's HTTP server conventions (as Prometheus's OTLP receiver names
/// it), per job, the job being the service.
pub fn request_rate_query(service: &str) -> String {
    format!(
        "sum by (job) (rate({{__name__=~\"keiko_requests_total|http_server_request_duration_seconds_count\", job=\"{}\"}}[1m]))",
        promql_escape(service)
    )
}

/// Explore → Metrics charting `service`'s request rate over `range` (`from`, `to`).
pub fn request_rate_url(service: &str, range: &(String, String)) -> String {
    format!(
        "/explore/metrics?{}",
        encode_pairs(&[
            ("q", request_rate_query(service)),
            ("mode", "range".into()),
            ("from", range.0.clone()),
            ("to", range.1.clone()),
            ("unit", "reqps".into()),
        ])
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::model::{parse_filters, AttrFilter, TraceSearch};

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn range() -> (String, String) {
        ("1700000000000".into(), "1700003600000".into())
    }

    /// Splits a link's query string back into its pairs (percent-decoded).
    fn params(url: &str) -> Vec<(String, String)> {
        let decode = |s: &str| {
            let b = s.as_bytes();
            let (mut out, mut i) = (Vec::new(), 0);
            while i < b.len() {
                if b[i] == b'%' {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        };
        url.split_once('?')
            .unwrap()
            .1
            .split('&')
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (decode(k), decode(v))
            })
            .collect()
    }

    #[test]
    fn service_comes_from_service_then_service_name_then_job() {
        let f = SeriesFilters::of(&labels(&[("job", "node"), ("service_name", "api")]));
        assert_eq!(f.service.as_deref(), Some("api"));
        let f = SeriesFilters::of(&labels(&[("service", "cart"), ("job", "node")]));
        assert_eq!(f.service.as_deref(), Some("cart"));
        let f = SeriesFilters::of(&labels(&[("job", "node"), ("instance", "h:9100")]));
        assert_eq!(
            f,
            SeriesFilters {
                service: Some("node".into()),
                instance: Some("h:9100".into())
            }
        );
        // Other labels are not carried; empty values are no filter.
        let f = SeriesFilters::of(&labels(&[("method", "GET"), ("job", "")]));
        assert_eq!(f, SeriesFilters::default());
        assert_eq!(f.logs_query(), "");
    }

    #[test]
    fn logs_links_carry_the_range_and_the_filters() {
        let f = SeriesFilters::of(&labels(&[
            ("job", "keiko-portal"),
            ("instance", "127.0.0.1:9"),
        ]));
        assert_eq!(
            f.logs_query(),
            "service:keiko-portal AND instance:\"127.0.0.1:9\""
        );
        assert_eq!(
            params(&f.logs_url(&range())),
            [
                ("query".into(), f.logs_query()),
                ("from".into(), "1700000000000".into()),
                ("to".into(), "1700003600000".into()),
            ]
        );
        assert_eq!(f.describe(), "service=keiko-portal instance=127.0.0.1:9");
    }

    #[test]
    fn traces_links_read_back_as_the_search() {
        let f = SeriesFilters::of(&labels(&[("service", "pay api"), ("instance", "a b:1")]));
        let url = f.traces_url(&range());
        let p = params(&url);
        let search =
            TraceSearch::from_pairs(|k| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()));
        assert_eq!(search.service, "pay api");
        assert_eq!(
            (search.from.as_str(), search.to.as_str()),
            ("1700000000000", "1700003600000")
        );
        assert_eq!(
            parse_filters(&search.filters).unwrap(),
            [AttrFilter::Equals(
                "service.instance.id".into(),
                "a b:1".into()
            )]
        );
        // The range alone when the series names nothing.
        let bare = SeriesFilters::default().traces_url(&range());
        assert_eq!(bare, "/explore/traces?from=1700000000000&to=1700003600000");
    }

    #[test]
    fn the_focused_series_or_the_only_one_is_chosen() {
        assert_eq!(chosen_series(&[1, 2, 3], Some(1)), Some(&2));
        assert_eq!(chosen_series(&[1, 2, 3], None), None);
        assert_eq!(chosen_series(&[7], None), Some(&7));
        assert_eq!(chosen_series(&[1], Some(4)), None);
        assert_eq!(chosen_series::<i32>(&[], None), None);
    }

    #[test]
    fn request_rate_queries_escape_the_service() {
        assert_eq!(
            request_rate_query("a\"b"),
            "sum by (job) (rate({__name__=~\"keiko_requests_total|http_server_request_duration_seconds_count\", job=\"a\\\"b\"}[1m]))"
        );
        let p = params(&request_rate_url("keiko-portal", &range()));
        assert_eq!(p[0], ("q".into(), request_rate_query("keiko-portal")));
        assert_eq!(p[2].1, "1700000000000");
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        labels(pairs).into_iter().collect()
    }

    #[test]
    fn a_spans_correlation_id_comes_from_its_attributes_then_its_resource() {
        let none = BTreeMap::new();
        let seed = map(&[("correlation_id", "c-1"), ("correlation.id", "c-2")]);
        assert_eq!(correlation_id_of(&seed, &none).as_deref(), Some("c-1"));
        let dotted = map(&[("correlation.id", "c-2")]);
        assert_eq!(correlation_id_of(&dotted, &none).as_deref(), Some("c-2"));
        // OpenTelemetry records a request header as a list of its values.
        let header = map(&[("http.request.header.x_correlation_id", "[\"c-3\"]")]);
        assert_eq!(correlation_id_of(&header, &none).as_deref(), Some("c-3"));
        let resource = map(&[("correlation_id", "c-4")]);
        assert_eq!(correlation_id_of(&none, &resource).as_deref(), Some("c-4"));
        assert_eq!(
            correlation_id_of(&dotted, &resource).as_deref(),
            Some("c-2")
        );
        let blank = map(&[("correlation_id", " ")]);
        assert_eq!(correlation_id_of(&blank, &none), None);
        assert_eq!(correlation_id_of(&map(&[("agent.id", "a")]), &none), None);
    }

    #[test]
    fn a_correlation_id_with_quotes_and_backslashes_reaches_the_trace_search_whole() {
        for id in [
            r#"say "hi""#,
            r#"""#,
            r"C:\tmp",
            r#"a"b"#,
            "plain-id",
            "x y=z",
        ] {
            let p = params(&request_traces_url(id, &range()));
            let search = TraceSearch::from_pairs(|k| {
                p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
            });
            assert_eq!(
                parse_filters(&search.filters).unwrap(),
                [AttrFilter::Equals("correlation_id".into(), id.into())],
                "{id}"
            );
        }
        assert_eq!(filter_value("req-7"), "req-7");
        assert_eq!(filter_value(r#"a"b"#), r#""a\"b""#);
    }

    #[test]
    fn a_requests_logs_and_traces_are_searched_by_its_correlation_id() {
        let logs = params(&request_logs_url("req 7", &range()));
        assert!(logs.starts_with(&[("query".into(), "correlation_id:\"req 7\"".into())]));
        assert_eq!(logs[1], ("from".into(), "1700000000000".into()));
        assert_eq!(logs[2], ("to".into(), "1700003600000".into()));
        let plain = params(&request_logs_url("e2e-follow-4711", &range()));
        assert_eq!(plain[0].1, "correlation_id:e2e-follow-4711");

        let url = request_traces_url("req 7", &range());
        assert!(url.starts_with("/explore/traces?"), "{url}");
        let p = params(&url);
        let search =
            TraceSearch::from_pairs(|k| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()));
        assert_eq!(
            parse_filters(&search.filters).unwrap(),
            [AttrFilter::Equals("correlation_id".into(), "req 7".into())]
        );
        assert_eq!(
            (search.from.as_str(), search.to.as_str()),
            ("1700000000000", "1700003600000")
        );
    }
}
