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
    metric::Data, number_data_point, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
    SummaryDataPoint,
};

use super::attributes::value_string;
use super::names::{label_name, metric_name, unit_name, Kind};
use super::{OtlpDecoded, OtlpOptions};
use crate::error::{clip, DecodeError, Refusals};
use crate::limits::{Budget, Limits};
use crate::sample::{stale_nan, METRIC_NAME_LABEL};
use crate::{Metadata, MetricType, Sample};

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
        }
        Ok(())
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
