//! The protobuf messages of Prometheus remote-write 1.0 (`prometheus.WriteRequest`).
//!
//! Field numbers follow `prompb/remote.proto` and `prompb/types.proto` of prometheus/prometheus.
//! Only what a receiver reads is modelled; fields left out (most of a native histogram) are
//! skipped by the decoder as unknown fields, which protobuf allows.

/// The body of a remote-write request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series with their samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    /// Metric metadata (field 2 is reserved by Cortex).
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// One series: its labels and its samples, exemplars and native histograms.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Labels, sorted by name, `__name__` among them.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Float samples.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Exemplars (not stored by this portal).
    #[prost(message, repeated, tag = "3")]
    pub exemplars: Vec<Exemplar>,
    /// Native histogram samples (not supported by this portal).
    #[prost(message, repeated, tag = "4")]
    pub histograms: Vec<Histogram>,
}

/// A label pair.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Label {
    /// The label name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The label value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// A float sample.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// An exemplar attached to a series.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    /// The exemplar's own labels (e.g. `trace_id`).
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// The observed value.
    #[prost(double, tag = "2")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// A native histogram sample, reduced to the fields needed to recognise and describe one.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Histogram {
    /// Count of observations, integer histograms (one arm of the `count` oneof).
    #[prost(uint64, optional, tag = "1")]
    pub count_int: Option<u64>,
    /// Count of observations, float histograms (the other arm of the `count` oneof).
    #[prost(double, optional, tag = "2")]
    pub count_float: Option<f64>,
    /// Sum of observations.
    #[prost(double, tag = "3")]
    pub sum: f64,
    /// Resolution of the exponential buckets.
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
}

/// Metadata about a metric family.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MetricMetadata {
    /// The family's type (`MetricMetadata.MetricType`: 0 unknown … 7 stateset).
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// The family name.
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    /// The help text.
    #[prost(string, tag = "4")]
    pub help: String,
    /// The unit.
    #[prost(string, tag = "5")]
    pub unit: String,
}

impl MetricMetadata {
    /// The type as this crate's [`MetricType`](crate::MetricType); unknown numbers map to
    /// `Unknown`.
    pub fn metric_type(&self) -> crate::MetricType {
        use crate::MetricType as T;
        match self.r#type {
            1 => T::Counter,
            2 => T::Gauge,
            3 => T::Histogram,
            4 => T::GaugeHistogram,
            5 => T::Summary,
            6 => T::Info,
            7 => T::StateSet,
            _ => T::Unknown,
        }
    }
}
