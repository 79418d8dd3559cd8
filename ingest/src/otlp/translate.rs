//! OTLP metrics into Prometheus samples, as Prometheus 3's OTLP receiver translates them with
//! its default settings.
//!
//! Differences from Prometheus, all deliberate:
//! - a data point whose labels cannot be built (an attribute key that sanitizes to nothing, a
//!   limit exceeded) is refused on its own; Prometheus abandons the rest of the metric;
//! - exponential histograms are refused (this portal stores no native histograms);
//! - `target_info` gets at most [`MAX_TARGET_INFO_FILL`] samples between a resource's earliest
//!   and latest point (Prometheus writes one every 2.5 minutes however wide the span, which a
//!   hostile timestamp would turn into billions); the latest point always gets one.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, metric::Data, number_data_point, Exemplar, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, SummaryDataPoint,
};

use super::attributes::value_string;
use super::names::{label_name, metric_name, unit_name, Kind};
use super::{OtlpDecoded, OtlpOptions};
use crate::error::{clip, DecodeError, Refusals};
use crate::limits::{Budget, Limits};
use crate::sample::is_valid_label_name;
use crate::sample::{stale_nan, METRIC_NAME_LABEL};
use crate::{ExemplarSample, Metadata, MetricType, Sample};

const TEMPORALITY_DELTA: i32 = 1;
const TEMPORALITY_CUMULATIVE: i32 = 2;
/// `DataPointFlags.FLAG_NO_RECORDED_VALUE`.
const FLAG_NO_RECORDED_VALUE: u32 = 1;

const SERVICE_NAME: &str = "service.name";
const SERVICE_NAMESPACE: &str = "service.namespace";
const SERVICE_INSTANCE_ID: &str = "service.instance.id";
const TARGET_INFO: &str = "target_info";
/// Half of PromQL's default lookback delta, so `target_info` is always found in between.
const TARGET_INFO_INTERVAL_NS: i128 = 150 * 1_000_000_000;
/// Most `target_info` samples written before a resource's latest point.
pub const MAX_TARGET_INFO_FILL: usize = 1000;

/// Exemplars one request keeps, at most; more are left out.
pub const MAX_EXEMPLARS: usize = 10_000;

/// A label set under construction, sorted by name.
type Labels = BTreeMap<String, String>;

/// Translates a whole request; only the sample budget can fail it as a whole.
pub(crate) fn translate(
    request: &ExportMetricsServiceRequest,
    options: &OtlpOptions,
    limits: &Limits,
) -> Result<OtlpDecoded, DecodeError> {
    let mut t = Translator {
        options,
        limits,
        budget: Budget::new(limits),
        out: OtlpDecoded::default(),
        refusals: Refusals::default(),
        families: HashSet::new(),
        target_info_seen: HashSet::new(),
    };
    for resource in &request.resource_metrics {
        t.resource(resource)?;
    }
    t.out.error_message = t.refusals.joined();
    Ok(t.out)
}

struct Translator<'a> {
    options: &'a OtlpOptions,
    limits: &'a Limits,
    budget: Budget,
    out: OtlpDecoded,
    refusals: Refusals,
    /// Families whose metadata was already recorded.
    families: HashSet<String>,
    /// `target_info` samples already written, by hash of labels and timestamp.
    target_info_seen: HashSet<u64>,
}

/// What a resource contributes to every series under it.
struct ResourceLabels {
    job: Option<String>,
    instance: Option<String>,
}

impl ResourceLabels {
    fn new(attributes: &[KeyValue]) -> Self {
        let get = |key: &str| {
            attributes
                .iter()
                .find(|kv| kv.key == key)
                .map(|kv| value_string(kv.value.as_ref()))
        };
        let job = get(SERVICE_NAME).map(|name| match get(SERVICE_NAMESPACE) {
            Some(namespace) => format!("{namespace}/{name}"),
            None => name,
        });
        Self {
            job,
            instance: get(SERVICE_INSTANCE_ID),
        }
    }
}

/// An OTLP timestamp in milliseconds, truncated as Prometheus does.
fn millis(ns: u64) -> i64 {
    (ns as i64) / 1_000_000
}

/// A bucket bound or quantile as a label value (`+Inf`, `0.5`, `1000`).
fn float_label(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{f}")
    }
}

/// A value, or the staleness marker when the point says it has none.
fn flagged(flags: u32, v: f64) -> f64 {
    if flags & FLAG_NO_RECORDED_VALUE != 0 {
        stale_nan()
    } else {
        v
    }
}

/// The times of every point of a metric, refused kinds included (they still date the resource).
fn point_times(metric: &Metric) -> Vec<u64> {
    match &metric.data {
        Some(Data::Gauge(g)) => g.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(Data::Sum(s)) => s.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(Data::Histogram(h)) => h.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(Data::ExponentialHistogram(h)) => {
            h.data_points.iter().map(|p| p.time_unix_nano).collect()
        }
        Some(Data::Summary(s)) => s.data_points.iter().map(|p| p.time_unix_nano).collect(),
        None => Vec::new(),
    }
}

impl Translator<'_> {
    fn resource(&mut self, rm: &ResourceMetrics) -> Result<(), DecodeError> {
        let attributes = rm.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]);
        let resource = ResourceLabels::new(attributes);
        let mut span: Option<(u64, u64)> = None;
        for scope in &rm.scope_metrics {
            for metric in &scope.metrics {
                for t in point_times(metric) {
                    let (lo, hi) = span.unwrap_or((t, t));
                    span = Some((lo.min(t), hi.max(t)));
                }
                self.metric(metric, &resource)?;
            }
        }
        if let Some((earliest, latest)) = span {
            if self.options.target_info {
                self.target_info(attributes, &resource, earliest, latest)?;
            }
        }
        Ok(())
    }

    fn refuse(&mut self, points: usize, message: String) {
        self.out.rejected_data_points += points as i64;
        self.refusals.push(message);
    }

    fn metric(&mut self, metric: &Metric, resource: &ResourceLabels) -> Result<(), DecodeError> {
        let name = clip(&metric.name);
        let Some(data) = &metric.data else {
            self.refusals.push(format!(
                "metric {name:?}: no data (unknown or missing type)"
            ));
            return Ok(());
        };
        let (kind, temporality, points) = match data {
            Data::Gauge(g) => (Kind::Gauge, None, g.data_points.len()),
            Data::Sum(s) => (
                if s.is_monotonic {
                    Kind::MonotonicCounter
                } else {
                    Kind::NonMonotonicCounter
                },
                Some(s.aggregation_temporality),
                s.data_points.len(),
            ),
            Data::Histogram(h) => (
                Kind::Histogram,
                Some(h.aggregation_temporality),
                h.data_points.len(),
            ),
            Data::ExponentialHistogram(h) => (
                Kind::ExponentialHistogram,
                Some(h.aggregation_temporality),
                h.data_points.len(),
            ),
            Data::Summary(s) => (Kind::Summary, None, s.data_points.len()),
        };
        if let Some(t) = temporality {
            let allowed = t == TEMPORALITY_CUMULATIVE
                || (self.options.allow_delta_temporality && t == TEMPORALITY_DELTA);
            if !allowed {
                let what = if t == TEMPORALITY_DELTA {
                    "delta temporality is not supported"
                } else {
                    "invalid temporality and type combination"
                };
                self.refuse(points, format!("metric {name:?}: {what}"));
                return Ok(());
            }
        }
        if kind == Kind::ExponentialHistogram {
            self.refuse(
                points,
                format!("metric {name:?}: exponential histograms need native histograms, which are not supported"),
            );
            return Ok(());
        }
        let family = match metric_name(&metric.name, &metric.unit, kind) {
            Ok(family) => family,
            Err(e) => {
                self.refuse(points, e);
                return Ok(());
            }
        };
        if points > 0 && self.families.insert(family.clone()) {
            let delta = temporality == Some(TEMPORALITY_DELTA);
            let metric_type = match kind {
                _ if delta => MetricType::Unknown,
                Kind::MonotonicCounter => MetricType::Counter,
                Kind::Gauge | Kind::NonMonotonicCounter => MetricType::Gauge,
                Kind::Histogram | Kind::ExponentialHistogram => MetricType::Histogram,
                Kind::Summary => MetricType::Summary,
            };
            self.out.metadata.push(Metadata {
                family: family.clone(),
                metric_type,
                help: metric.description.clone(),
                unit: unit_name(&metric.unit),
            });
        }
        match data {
            Data::Gauge(g) => self.numbers(&g.data_points, &family, resource),
            Data::Sum(s) => self.numbers(&s.data_points, &family, resource),
            Data::Histogram(h) => self.histograms(&h.data_points, &family, resource),
            Data::Summary(s) => self.summaries(&s.data_points, &family, resource),
            Data::ExponentialHistogram(_) => Ok(()),
        }
    }

    /// The labels of a data point: its attributes sanitized (colliding names joining their
    /// values with `;` in the order of the original keys), then `job` and `instance`.
    /// `extra` names a label the caller adds per sample (`le`, `quantile`), counted in limits.
    fn point_labels(
        &self,
        attributes: &[KeyValue],
        ignore: &[&str],
        resource: &ResourceLabels,
        name: &str,
        extra: Option<&str>,
    ) -> Result<Labels, String> {
        let mut pairs: Vec<(&str, String)> = attributes
            .iter()
            .filter(|kv| !ignore.contains(&kv.key.as_str()))
            .map(|kv| (kv.key.as_str(), value_string(kv.value.as_ref())))
            .collect();
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        let mut labels = Labels::new();
        for (key, value) in pairs {
            let label = label_name(key)?;
            match labels.get_mut(&label) {
                Some(existing) => {
                    existing.push(';');
                    existing.push_str(&value);
                }
                None if value.is_empty() => {}
                None => {
                    labels.insert(label, value);
                }
            }
        }
        for (label, value) in [("job", &resource.job), ("instance", &resource.instance)] {
            match value {
                Some(v) if !v.is_empty() => labels.insert(label.to_owned(), v.clone()),
                _ => None,
            };
        }
        labels.insert(METRIC_NAME_LABEL.to_owned(), name.to_owned());
        let mut check: Vec<(String, String)> = labels.clone().into_iter().collect();
        if let Some(extra) = extra {
            check.push((extra.to_owned(), String::new()));
        }
        self.limits.check_labels(&check)?;
        Ok(labels)
    }

    /// Charges and pushes one sample named `name` with `labels` plus an optional extra label.
    fn push(
        &mut self,
        labels: &Labels,
        name: &str,
        extra: Option<(&str, String)>,
        t_ms: i64,
        v: f64,
    ) -> Result<(), DecodeError> {
        let mut labels = labels.clone();
        labels.insert(METRIC_NAME_LABEL.to_owned(), name.to_owned());
        if let Some((label, value)) = extra {
            labels.insert(label.to_owned(), value);
        }
        let labels: Vec<(String, String)> = labels.into_iter().collect();
        self.budget.charge(&labels, 1)?;
        self.out.samples.push(Sample { labels, t_ms, v });
        Ok(())
    }

    /// Builds a point's labels, or counts the point refused and returns `None`.
    fn labels_or_refuse(
        &mut self,
        attributes: &[KeyValue],
        resource: &ResourceLabels,
        family: &str,
        extra: Option<&str>,
    ) -> Option<Labels> {
        match self.point_labels(attributes, &[METRIC_NAME_LABEL], resource, family, extra) {
            Ok(labels) => {
                self.out.accepted_data_points += 1;
                Some(labels)
            }
            Err(e) => {
                self.refuse(1, format!("data point of {family:?}: {e}"));
                None
            }
        }
    }

    fn numbers(
        &mut self,
        points: &[NumberDataPoint],
        family: &str,
        resource: &ResourceLabels,
    ) -> Result<(), DecodeError> {
        for p in points {
            let Some(labels) = self.labels_or_refuse(&p.attributes, resource, family, None) else {
                continue;
            };
            let v = match p.value {
                Some(number_data_point::Value::AsDouble(d)) => d,
                Some(number_data_point::Value::AsInt(i)) => i as f64,
                None => 0.0,
            };
            let v = flagged(p.flags, v);
            self.push(&labels, family, None, millis(p.time_unix_nano), v)?;
            self.exemplars(&p.exemplars, &labels, family, |_| None);
        }
        Ok(())
    }

    fn histograms(
        &mut self,
        points: &[HistogramDataPoint],
        family: &str,
        resource: &ResourceLabels,
    ) -> Result<(), DecodeError> {
        let (sum, count, bucket) = (
            format!("{family}_sum"),
            format!("{family}_count"),
            format!("{family}_bucket"),
        );
        for p in points {
            let Some(labels) = self.labels_or_refuse(&p.attributes, resource, &bucket, Some("le"))
            else {
                continue;
            };
            let t = millis(p.time_unix_nano);
            if let Some(s) = p.sum {
                self.push(&labels, &sum, None, t, flagged(p.flags, s))?;
            }
            let total = flagged(p.flags, p.count as f64);
            self.push(&labels, &count, None, t, total)?;
            let mut cumulative: u64 = 0;
            for (bound, n) in p.explicit_bounds.iter().zip(&p.bucket_counts) {
                cumulative = cumulative.wrapping_add(*n);
                let le = Some(("le", float_label(*bound)));
                self.push(&labels, &bucket, le, t, flagged(p.flags, cumulative as f64))?;
            }
            self.push(&labels, &bucket, Some(("le", "+Inf".to_owned())), t, total)?;
            // An exemplar belongs to the bucket its value falls in, as Prometheus files it.
            let bounds = &p.explicit_bounds;
            self.exemplars(&p.exemplars, &labels, &bucket, |v| {
                let le = bounds.iter().find(|b| v <= **b).map(|b| float_label(*b));
                Some(("le", le.unwrap_or_else(|| "+Inf".to_owned())))
            });
        }
        Ok(())
    }

    /// Keeps a point's exemplars (`trace_id`, `span_id` in hex and the filtered attributes
    /// whose names are valid labels) for the series `name` with `labels`, plus the extra
    /// label `extra` gives for the exemplar's value; at most [`MAX_EXEMPLARS`] a request.
    fn exemplars(
        &mut self,
        list: &[Exemplar],
        labels: &Labels,
        name: &str,
        extra: impl Fn(f64) -> Option<(&'static str, String)>,
    ) {
        for e in list {
            if self.out.exemplars.len() >= MAX_EXEMPLARS {
                return;
            }
            let value = match e.value {
                Some(exemplar::Value::AsDouble(d)) => d,
                Some(exemplar::Value::AsInt(i)) => i as f64,
                None => continue,
            };
            let mut own: Labels = Labels::new();
            for kv in &e.filtered_attributes {
                let v = value_string(kv.value.as_ref());
                if is_valid_label_name(&kv.key) && !v.is_empty() {
                    own.insert(kv.key.clone(), v);
                }
            }
            let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
            if !e.trace_id.is_empty() {
                own.insert("trace_id".into(), hex(&e.trace_id));
            }
            if !e.span_id.is_empty() {
                own.insert("span_id".into(), hex(&e.span_id));
            }
            let mut series = labels.clone();
            series.insert(METRIC_NAME_LABEL.to_owned(), name.to_owned());
            if let Some((label, v)) = extra(value) {
                series.insert(label.to_owned(), v);
            }
            self.out.exemplars.push(ExemplarSample {
                series: series.into_iter().collect(),
                labels: own.into_iter().collect(),
                value,
                t_ms: millis(e.time_unix_nano),
            });
        }
    }

    fn summaries(
        &mut self,
        points: &[SummaryDataPoint],
        family: &str,
        resource: &ResourceLabels,
    ) -> Result<(), DecodeError> {
        let (sum, count) = (format!("{family}_sum"), format!("{family}_count"));
        for p in points {
            let Some(labels) =
                self.labels_or_refuse(&p.attributes, resource, &count, Some("quantile"))
            else {
                continue;
            };
            let t = millis(p.time_unix_nano);
            self.push(&labels, &sum, None, t, flagged(p.flags, p.sum))?;
            self.push(&labels, &count, None, t, flagged(p.flags, p.count as f64))?;
            for q in &p.quantile_values {
                let quantile = Some(("quantile", float_label(q.quantile)));
                self.push(&labels, family, quantile, t, flagged(p.flags, q.value))?;
            }
        }
        Ok(())
    }

    /// One `target_info` series per resource that has attributes besides the identifying
    /// ones, dated from its earliest to its latest point.
    fn target_info(
        &mut self,
        attributes: &[KeyValue],
        resource: &ResourceLabels,
        earliest: u64,
        latest: u64,
    ) -> Result<(), DecodeError> {
        let identifying = [SERVICE_NAMESPACE, SERVICE_NAME, SERVICE_INSTANCE_ID];
        let present = identifying
            .iter()
            .filter(|key| attributes.iter().any(|kv| kv.key == **key))
            .count();
        if attributes.len() <= present {
            return Ok(());
        }
        let labels = match self.point_labels(attributes, &identifying, resource, TARGET_INFO, None)
        {
            Ok(labels) => labels,
            Err(e) => {
                self.refusals.push(format!("target_info: {e}"));
                return Ok(());
            }
        };
        if !labels.contains_key("job") && !labels.contains_key("instance") {
            return Ok(());
        }
        if self.families.insert(TARGET_INFO.to_owned()) {
            self.out.metadata.push(Metadata {
                family: TARGET_INFO.to_owned(),
                metric_type: MetricType::Gauge,
                help: "Target metadata".to_owned(),
                unit: String::new(),
            });
        }
        let (earliest, latest) = (earliest as i64 as i128, latest as i64 as i128);
        let mut times = Vec::new();
        let mut t = earliest;
        while t < latest && times.len() < MAX_TARGET_INFO_FILL {
            times.push(t);
            t += TARGET_INFO_INTERVAL_NS;
        }
        times.push(latest);
        let mut hasher = DefaultHasher::new();
        labels.hash(&mut hasher);
        for ns in times {
            let t_ms = ns.div_euclid(1_000_000) as i64;
            let mut key = hasher.clone();
            t_ms.hash(&mut key);
            if self.target_info_seen.insert(key.finish()) {
                self.push(&labels, TARGET_INFO, None, t_ms, 1.0)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::is_stale_nan;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue};
    use opentelemetry_proto::tonic::metrics::v1::{
        summary_data_point::ValueAtQuantile, ExponentialHistogram, Gauge, Histogram, ScopeMetrics,
        Sum, Summary,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;

    const NS: u64 = 1_700_000_000_123_456_789;
    const MS: i64 = 1_700_000_000_123;

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.into())),
            }),
            ..Default::default()
        }
    }

    fn metric(name: &str, unit: &str, data: Data) -> Metric {
        Metric {
            name: name.into(),
            unit: unit.into(),
            description: format!("{name} help"),
            data: Some(data),
            ..Default::default()
        }
    }

    fn request(resource: Vec<KeyValue>, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: resource,
                    ..Default::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn number(attrs: Vec<KeyValue>, v: number_data_point::Value) -> NumberDataPoint {
        NumberDataPoint {
            attributes: attrs,
            time_unix_nano: NS,
            value: Some(v),
            ..Default::default()
        }
    }

    fn run(request: &ExportMetricsServiceRequest) -> OtlpDecoded {
        translate(request, &OtlpOptions::default(), &Limits::default()).unwrap()
    }

    fn find<'a>(d: &'a OtlpDecoded, name: &str, label: Option<(&str, &str)>) -> &'a Sample {
        d.samples
            .iter()
            .find(|s| s.name() == name && label.is_none_or(|(l, v)| s.label(l) == Some(v)))
            .unwrap_or_else(|| panic!("no {name} {label:?} in {:#?}", d.samples))
    }

    fn sum(monotonic: bool, temporality: i32, points: Vec<NumberDataPoint>) -> Data {
        Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: temporality,
            is_monotonic: monotonic,
        })
    }

    #[test]
    fn sums_gauges_and_resource_labels() {
        let req = request(
            vec![
                kv("service.name", "api"),
                kv("service.namespace", "shop"),
                kv("service.instance.id", "pod-1"),
                kv("host.name", "node-a"),
            ],
            vec![
                metric(
                    "http.requests",
                    "{request}",
                    sum(
                        true,
                        TEMPORALITY_CUMULATIVE,
                        vec![number(
                            vec![kv("http.method", "GET"), kv("job", "ignored")],
                            number_data_point::Value::AsInt(7),
                        )],
                    ),
                ),
                metric(
                    "queue.depth",
                    "",
                    sum(
                        false,
                        TEMPORALITY_CUMULATIVE,
                        vec![number(vec![], number_data_point::Value::AsDouble(-2.5))],
                    ),
                ),
                metric(
                    "memory",
                    "By",
                    Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            flags: FLAG_NO_RECORDED_VALUE,
                            ..number(vec![], number_data_point::Value::AsDouble(1.0))
                        }],
                    }),
                ),
            ],
        );
        let d = run(&req);
        assert_eq!(d.error_message, "");
        assert_eq!((d.accepted_data_points, d.rejected_data_points), (3, 0));
        let counter = find(&d, "http_requests_total", None);
        assert_eq!(
            counter.labels,
            [
                ("__name__", "http_requests_total"),
                ("http_method", "GET"),
                ("instance", "pod-1"),
                ("job", "shop/api"),
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
        assert_eq!((counter.t_ms, counter.v), (MS, 7.0));
        assert_eq!(find(&d, "queue_depth", None).v, -2.5);
        assert!(is_stale_nan(find(&d, "memory_bytes", None).v));
        let info = find(&d, "target_info", None);
        assert_eq!(info.label("host_name"), Some("node-a"));
        assert_eq!(info.label("job"), Some("shop/api"));
        assert_eq!(info.label("service_name"), None);
        assert_eq!((info.t_ms, info.v), (MS, 1.0));
        let types: Vec<_> = d
            .metadata
            .iter()
            .map(|m| (m.family.as_str(), m.metric_type))
            .collect();
        assert_eq!(
            types,
            [
                ("http_requests_total", MetricType::Counter),
                ("queue_depth", MetricType::Gauge),
                ("memory_bytes", MetricType::Gauge),
                ("target_info", MetricType::Gauge),
            ]
        );
        assert_eq!(d.metadata[2].unit, "bytes");
    }

    #[test]
    fn histograms_become_cumulative_buckets() {
        let point = HistogramDataPoint {
            attributes: vec![kv("route", "/a")],
            time_unix_nano: NS,
            count: 10,
            sum: Some(12.5),
            bucket_counts: vec![1, 2, 3, 4],
            explicit_bounds: vec![0.1, 1.0, 1e21],
            exemplars: vec![Exemplar {
                time_unix_nano: NS,
                value: Some(exemplar::Value::AsDouble(0.5)),
                trace_id: vec![0xab; 16],
                span_id: vec![0x01; 8],
                filtered_attributes: vec![kv("user", "u-1"), kv("bad key", "x")],
            }],
            ..Default::default()
        };
        let no_sum = HistogramDataPoint {
            attributes: vec![kv("route", "/b")],
            sum: None,
            explicit_bounds: vec![5.0, 6.0],
            bucket_counts: vec![1],
            exemplars: vec![],
            ..point.clone()
        };
        let req = request(
            vec![kv("service.name", "api")],
            vec![metric(
                "rpc.duration",
                "ms",
                Data::Histogram(Histogram {
                    data_points: vec![point, no_sum],
                    aggregation_temporality: TEMPORALITY_CUMULATIVE,
                }),
            )],
        );
        let d = run(&req);
        let f = "rpc_duration_milliseconds";
        let b = format!("{f}_bucket");
        assert_eq!(find(&d, &b, Some(("le", "0.1"))).v, 1.0);
        assert_eq!(find(&d, &b, Some(("le", "1"))).v, 3.0);
        assert_eq!(find(&d, &b, Some(("le", "1000000000000000000000"))).v, 6.0);
        assert_eq!(find(&d, &b, Some(("le", "+Inf"))).v, 10.0);
        assert_eq!(find(&d, &format!("{f}_sum"), None).v, 12.5);
        assert_eq!(find(&d, &format!("{f}_count"), None).v, 10.0);
        // The second point: no _sum, buckets only as far as both lists go.
        let route_b: Vec<_> = d
            .samples
            .iter()
            .filter(|s| s.label("route") == Some("/b"))
            .map(|s| (s.name().to_owned(), s.label("le").map(str::to_owned)))
            .collect();
        assert_eq!(route_b.len(), 3, "{route_b:?}");
        // The exemplar of 0.5 is filed under the bucket `le="1"`, with its trace.
        assert_eq!(d.exemplars.len(), 1);
        let e = &d.exemplars[0];
        assert!(e.series.contains(&("le".into(), "1".into())), "{e:?}");
        assert!(e.series.contains(&("__name__".into(), b.clone())), "{e:?}");
        assert_eq!(
            e.labels,
            [
                ("span_id".to_owned(), "0101010101010101".to_owned()),
                ("trace_id".to_owned(), "ab".repeat(16)),
                ("user".to_owned(), "u-1".to_owned()),
            ]
        );
        assert_eq!((e.value, e.t_ms), (0.5, millis(NS)));
        assert_eq!(d.metadata[0].metric_type, MetricType::Histogram);
        assert_eq!(d.metadata[0].family, f);
    }

    #[test]
    fn summaries_give_quantiles_sum_and_count() {
        let req = request(
            vec![kv("service.name", "api")],
            vec![metric(
                "gc.pause",
                "s",
                Data::Summary(Summary {
                    data_points: vec![SummaryDataPoint {
                        time_unix_nano: NS,
                        count: 4,
                        sum: 0.8,
                        quantile_values: vec![
                            ValueAtQuantile {
                                quantile: 0.5,
                                value: 0.1,
                            },
                            ValueAtQuantile {
                                quantile: 0.99,
                                value: 0.5,
                            },
                        ],
                        ..Default::default()
                    }],
                }),
            )],
        );
        let d = run(&req);
        let f = "gc_pause_seconds";
        assert_eq!(find(&d, f, Some(("quantile", "0.5"))).v, 0.1);
        assert_eq!(find(&d, f, Some(("quantile", "0.99"))).v, 0.5);
        assert_eq!(find(&d, &format!("{f}_sum"), None).v, 0.8);
        assert_eq!(find(&d, &format!("{f}_count"), None).v, 4.0);
        assert_eq!(
            d.samples.len(),
            4,
            "no target_info without other attributes"
        );
        assert_eq!(d.metadata[0].metric_type, MetricType::Summary);
    }

    #[test]
    fn colliding_attributes_join_values_and_bad_keys_refuse_the_point() {
        let req = request(
            vec![kv("service.name", "api")],
            vec![metric(
                "g",
                "",
                Data::Gauge(Gauge {
                    data_points: vec![
                        number(
                            vec![kv("a.b", "2"), kv("a_b", "1"), kv("empty", "")],
                            number_data_point::Value::AsInt(1),
                        ),
                        number(vec![kv("..", "x")], number_data_point::Value::AsInt(2)),
                    ],
                }),
            )],
        );
        let d = run(&req);
        // Sorted by original key: "a.b" < "a_b".
        assert_eq!(find(&d, "g", None).label("a_b"), Some("2;1"));
        assert_eq!(find(&d, "g", None).label("empty"), None);
        assert_eq!((d.accepted_data_points, d.rejected_data_points), (1, 1));
        assert!(
            d.error_message.contains("invalid name"),
            "{}",
            d.error_message
        );
    }

    #[test]
    fn refused_kinds_count_their_points() {
        let points = vec![number(vec![], number_data_point::Value::AsInt(1)); 2];
        let req = request(
            vec![kv("service.name", "api")],
            vec![
                metric("delta", "", sum(true, TEMPORALITY_DELTA, points.clone())),
                metric("unspecified", "", sum(true, 0, points)),
                metric(
                    "exp",
                    "",
                    Data::ExponentialHistogram(ExponentialHistogram {
                        data_points: vec![Default::default(); 3],
                        aggregation_temporality: TEMPORALITY_CUMULATIVE,
                    }),
                ),
                metric(
                    "...",
                    "",
                    Data::Gauge(Gauge {
                        data_points: vec![Default::default()],
                    }),
                ),
                Metric {
                    name: "nothing".into(),
                    ..Default::default()
                },
            ],
        );
        let d = run(&req);
        assert!(d.samples.is_empty());
        assert_eq!(d.rejected_data_points, 2 + 2 + 3 + 1);
        for expected in [
            "\"delta\": delta temporality is not supported",
            "\"unspecified\": invalid temporality",
            "\"exp\": exponential histograms need native histograms",
            "resulted in empty name",
            "\"nothing\": no data",
        ] {
            assert!(
                d.error_message.contains(expected),
                "{expected}: {}",
                d.error_message
            );
        }
    }

    #[test]
    fn target_info_spans_the_resource_with_a_bounded_number_of_samples() {
        let gauge = |t: u64| NumberDataPoint {
            time_unix_nano: t,
            ..number(vec![], number_data_point::Value::AsInt(1))
        };
        let attrs = vec![kv("service.name", "api"), kv("region", "eu")];
        // Ten minutes apart: samples every 2.5 minutes, then the last point.
        let minutes = 60_000_000_000;
        let req = request(
            attrs.clone(),
            vec![metric(
                "g",
                "",
                Data::Gauge(Gauge {
                    data_points: vec![gauge(NS), gauge(NS + 10 * minutes)],
                }),
            )],
        );
        let d = run(&req);
        let times: Vec<i64> = d
            .samples
            .iter()
            .filter(|s| s.name() == "target_info")
            .map(|s| s.t_ms)
            .collect();
        assert_eq!(times, [0, 150, 300, 450, 600].map(|s| MS + s * 1000));

        // A hostile span of centuries still yields a bounded number of samples.
        let req = request(
            attrs,
            vec![metric(
                "g",
                "",
                Data::Gauge(Gauge {
                    data_points: vec![gauge(0), gauge(i64::MAX as u64)],
                }),
            )],
        );
        let d = run(&req);
        let n = d
            .samples
            .iter()
            .filter(|s| s.name() == "target_info")
            .count();
        assert_eq!(n, MAX_TARGET_INFO_FILL + 1);
    }

    #[test]
    fn label_limits_refuse_points_and_budget_refuses_requests() {
        let big = "x".repeat(10 << 20);
        let req = request(
            vec![kv("service.name", "api")],
            vec![metric(
                "g",
                "",
                Data::Gauge(Gauge {
                    data_points: vec![
                        number(vec![kv("big", &big)], number_data_point::Value::AsInt(1)),
                        number(vec![], number_data_point::Value::AsInt(2)),
                    ],
                }),
            )],
        );
        let d = run(&req);
        assert_eq!(d.samples.len(), 1);
        assert_eq!(d.rejected_data_points, 1);
        assert!(d.error_message.contains("longer than the limit"));
        assert!(d.error_message.len() < 1000);

        let many = HistogramDataPoint {
            explicit_bounds: (0..100_000).map(f64::from).collect(),
            bucket_counts: vec![1; 100_001],
            ..Default::default()
        };
        let req = request(
            vec![],
            vec![metric(
                "h",
                "",
                Data::Histogram(Histogram {
                    data_points: vec![many],
                    aggregation_temporality: TEMPORALITY_CUMULATIVE,
                }),
            )],
        );
        let limits = Limits {
            max_samples: 50_000,
            ..Limits::default()
        };
        let err = translate(&req, &OtlpOptions::default(), &limits).unwrap_err();
        assert!(err.is_too_large());
    }
}
