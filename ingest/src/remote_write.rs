//! Prometheus remote-write 1.0: a snappy-compressed `prometheus.WriteRequest` into samples.
//!
//! Validation follows the remote-write 1.0 specification. A series whose labels break it is
//! refused on its own (its samples counted in [`RemoteWriteStats::samples_rejected`] and the
//! reason given in [`Decoded::error`]); the other series of the request are kept, as
//! Prometheus does. Native histograms are refused the same way, per series, while the float
//! samples of that series are kept. Exemplars of accepted series are kept ([`Decoded::exemplars`]);
//! those of refused series are counted. Labels with an empty value
//! are dropped, since an empty value means "no such label" in Prometheus.
//!
//! The server is expected to store [`Decoded::samples`] and answer `204 No Content` when
//! [`Decoded::error`] is empty, `400 Bad Request` with that message otherwise (a sender does not
//! retry a 4xx, and the valid part is already stored).

use prost::Message;

use crate::decompress;
use crate::error::{clip, DecodeError, Refusals};
use crate::limits::{Budget, Limits};
use crate::prompb;
use crate::sample::{is_valid_label_name, is_valid_metric_name, METRIC_NAME_LABEL};
use crate::{ExemplarSample, Metadata, Sample};

/// Counts for one remote-write request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RemoteWriteStats {
    /// Series in the request.
    pub series: usize,
    /// Series refused because of their labels (or because they held only native histograms).
    pub series_rejected: usize,
    /// Float samples decoded into [`Decoded::samples`].
    pub samples_accepted: usize,
    /// Float samples of refused series.
    pub samples_rejected: usize,
    /// Native histogram samples, all refused.
    pub histograms_rejected: usize,
    /// Exemplars not kept (of a refused series, or with an invalid label).
    pub exemplars_ignored: usize,
    /// Metadata entries kept (entries with an invalid family name are skipped).
    pub metadata: usize,
}

/// A decoded remote-write request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decoded {
    /// The accepted samples, in request order.
    pub samples: Vec<Sample>,
    /// The metadata sent along (remote-write 1.0 senders may send it in the same request).
    pub metadata: Vec<Metadata>,
    /// The exemplars of the accepted series.
    pub exemplars: Vec<ExemplarSample>,
    /// Counts.
    pub stats: RemoteWriteStats,
    /// Why some series or histograms were refused (first few reasons); empty when none were.
    pub error: String,
}

/// One series of a request: its labels once, its float samples `(t_ms, value)` in request
/// order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SeriesSamples {
    /// As in [`Sample::labels`]: sorted by name, names unique, values non-empty.
    pub labels: Vec<(String, String)>,
    /// `(milliseconds since the Unix epoch, value)`; values may be the staleness marker.
    pub samples: Vec<(i64, f64)>,
}

/// A decoded remote-write request with the samples kept per series (no label set copied
/// per sample): what a store appends. [`Decoded`] is the same with one [`Sample`] per point.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DecodedSeries {
    /// The accepted series with their samples, in request order (series without float
    /// samples left out).
    pub series: Vec<SeriesSamples>,
    /// As in [`Decoded::metadata`].
    pub metadata: Vec<Metadata>,
    /// As in [`Decoded::exemplars`].
    pub exemplars: Vec<ExemplarSample>,
    /// Counts.
    pub stats: RemoteWriteStats,
    /// As in [`Decoded::error`].
    pub error: String,
}

impl DecodedSeries {
    /// One [`Sample`] per point, in request order.
    pub fn into_samples(self) -> Decoded {
        let mut samples = Vec::with_capacity(self.stats.samples_accepted);
        for series in self.series {
            push_samples(&mut samples, series.labels, &series.samples);
        }
        Decoded {
            samples,
            metadata: self.metadata,
            exemplars: self.exemplars,
            stats: self.stats,
            error: self.error,
        }
    }
}

/// Decodes a remote-write 1.0 body with the default [`Limits`].
///
/// `content_encoding` is the request's `Content-Encoding`: `snappy` (block format, as the
/// specification requires) or absent, which is taken to mean snappy too, as Prometheus does.
pub fn decode_remote_write(
    body: &[u8],
    content_encoding: Option<&str>,
) -> Result<Decoded, DecodeError> {
    decode_remote_write_with(body, content_encoding, &Limits::default())
}

/// Decodes a remote-write 1.0 body with the given limits. See [`decode_remote_write`].
pub fn decode_remote_write_with(
    body: &[u8],
    content_encoding: Option<&str>,
    limits: &Limits,
) -> Result<Decoded, DecodeError> {
    decode_remote_write_series(body, content_encoding, limits).map(DecodedSeries::into_samples)
}

/// Decodes a remote-write 1.0 body into samples per series (see [`decode_remote_write`]).
pub fn decode_remote_write_series(
    body: &[u8],
    content_encoding: Option<&str>,
    limits: &Limits,
) -> Result<DecodedSeries, DecodeError> {
    match decompress::media(content_encoding).as_deref() {
        None | Some("snappy") => {}
        Some(other) => return Err(DecodeError::UnsupportedContentEncoding(clip(other))),
    }
    let raw = decompress::snappy(body, limits.max_decompressed_bytes)?;
    let request = prompb::WriteRequest::decode(raw.as_slice())
        .map_err(|e| DecodeError::Protobuf(e.to_string()))?;
    drop(raw);
    translate_series(request, limits)
}

/// Turns a decoded `WriteRequest` into samples, validating each series.
pub fn translate(request: prompb::WriteRequest, limits: &Limits) -> Result<Decoded, DecodeError> {
    translate_series(request, limits).map(DecodedSeries::into_samples)
}

/// An exemplar's labels, sorted, or `None` when a name is invalid or given twice (empty
/// values are dropped).
fn exemplar_labels(labels: Vec<prompb::Label>) -> Option<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = labels
        .into_iter()
        .filter(|l| !l.value.is_empty())
        .map(|l| (l.name, l.value))
        .collect();
    out.sort();
    let valid =
        out.iter().all(|(n, _)| is_valid_label_name(n)) && out.windows(2).all(|w| w[0].0 != w[1].0);
    valid.then_some(out)
}

/// Turns a decoded `WriteRequest` into samples per series, validating each series.
pub fn translate_series(
    request: prompb::WriteRequest,
    limits: &Limits,
) -> Result<DecodedSeries, DecodeError> {
    let mut budget = Budget::new(limits);
    let mut refusals = Refusals::default();
    let mut out = DecodedSeries::default();
    out.stats.series = request.timeseries.len();

    for series in request.timeseries {
        let labels = match series_labels(series.labels, limits) {
            Ok(labels) => labels,
            Err((described, reason)) => {
                out.stats.exemplars_ignored += series.exemplars.len();
                out.stats.series_rejected += 1;
                out.stats.samples_rejected += series.samples.len();
                out.stats.histograms_rejected += series.histograms.len();
                refusals.push(format!("series {described}: {reason}"));
                continue;
            }
        };
        if !series.histograms.is_empty() {
            out.stats.histograms_rejected += series.histograms.len();
            if series.samples.is_empty() {
                out.stats.series_rejected += 1;
            }
            refusals.push(format!(
                "series {}: native histograms are not supported ({} histogram samples refused)",
                describe(&labels),
                series.histograms.len()
            ));
        }
        for e in series.exemplars {
            match exemplar_labels(e.labels) {
                Some(own) => out.exemplars.push(ExemplarSample {
                    series: labels.clone(),
                    labels: own,
                    value: e.value,
                    t_ms: e.timestamp,
                }),
                None => out.stats.exemplars_ignored += 1,
            }
        }
        budget.charge(&labels, series.samples.len())?;
        out.stats.samples_accepted += series.samples.len();
        if !series.samples.is_empty() {
            out.series.push(SeriesSamples {
                labels,
                samples: series
                    .samples
                    .iter()
                    .map(|p| (p.timestamp, p.value))
                    .collect(),
            });
        }
    }

    for md in request.metadata {
        if !is_valid_metric_name(&md.metric_family_name) {
            continue;
        }
        out.metadata.push(Metadata {
            metric_type: md.metric_type(),
            family: md.metric_family_name,
            help: md.help,
            unit: md.unit,
        });
    }
    out.stats.metadata = out.metadata.len();
    out.error = refusals.joined();
    Ok(out)
}

/// Appends one sample per point, copying the labels into all but the last.
fn push_samples(out: &mut Vec<Sample>, labels: Vec<(String, String)>, points: &[(i64, f64)]) {
    let Some((last, rest)) = points.split_last() else {
        return;
    };
    out.reserve(points.len());
    for p in rest {
        out.push(Sample {
            labels: labels.clone(),
            t_ms: p.0,
            v: p.1,
        });
    }
    out.push(Sample {
        labels,
        t_ms: last.0,
        v: last.1,
    });
}

/// Validates a series' labels and returns them as pairs, or a description of the series and
/// the reason for refusing it.
fn series_labels(
    labels: Vec<prompb::Label>,
    limits: &Limits,
) -> Result<Vec<(String, String)>, (String, String)> {
    let pairs: Vec<(String, String)> = labels.into_iter().map(|l| (l.name, l.value)).collect();
    let fail = |reason: String| Err((describe(&pairs), reason));

    let mut has_name = false;
    for (i, (name, value)) in pairs.iter().enumerate() {
        if !is_valid_label_name(name) {
            return fail(format!("invalid label name {:?}", clip(name)));
        }
        if let Some((previous, _)) = i.checked_sub(1).map(|j| &pairs[j]) {
            if previous == name {
                return fail(format!("duplicate label name {:?}", clip(name)));
            }
            if previous > name {
                return fail(format!(
                    "labels not sorted by name ({:?} before {:?})",
                    clip(previous),
                    clip(name)
                ));
            }
        }
        if name == METRIC_NAME_LABEL {
            has_name = true;
            if value.is_empty() {
                return fail("empty metric name".to_owned());
            }
            if !is_valid_metric_name(value) {
                return fail(format!("invalid metric name {:?}", clip(value)));
            }
        }
    }
    if !has_name {
        return fail("no metric name (__name__ label)".to_owned());
    }
    if let Err(reason) = limits.check_labels(&pairs) {
        return fail(reason);
    }
    let mut pairs = pairs;
    pairs.retain(|(_, v)| !v.is_empty());
    Ok(pairs)
}

/// A short, bounded rendering of a label set for messages: `name{a="b", …}`.
pub(crate) fn describe(labels: &[(String, String)]) -> String {
    let name = labels
        .iter()
        .find(|(n, _)| n == METRIC_NAME_LABEL)
        .map_or("", |(_, v)| v.as_str());
    let rest: Vec<String> = labels
        .iter()
        .filter(|(n, _)| n != METRIC_NAME_LABEL)
        .map(|(n, v)| format!("{n}={v:?}"))
        .collect();
    clip(&format!("{name}{{{}}}", rest.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{is_stale_nan, stale_nan, MetricType};

    fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> prompb::TimeSeries {
        prompb::TimeSeries {
            labels: labels
                .iter()
                .map(|(n, v)| prompb::Label {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            samples: samples
                .iter()
                .map(|&(timestamp, value)| prompb::Sample { value, timestamp })
                .collect(),
            ..Default::default()
        }
    }

    fn body(request: &prompb::WriteRequest) -> Vec<u8> {
        snap::raw::Encoder::new()
            .compress_vec(&request.encode_to_vec())
            .unwrap()
    }

    #[test]
    fn round_trip_samples_and_metadata() {
        let request = prompb::WriteRequest {
            timeseries: vec![
                series(
                    &[("__name__", "up"), ("instance", "a:9100"), ("job", "node")],
                    &[(1000, 1.0), (2000, 0.0)],
                ),
                series(
                    &[
                        ("__name__", "http_requests_total"),
                        ("code", "200"),
                        ("path", ""),
                    ],
                    &[(1500, 42.5), (2500, stale_nan())],
                ),
            ],
            metadata: vec![
                prompb::MetricMetadata {
                    r#type: 1,
                    metric_family_name: "http_requests_total".into(),
                    help: "Requests.".into(),
                    unit: String::new(),
                },
                prompb::MetricMetadata {
                    r#type: 2,
                    metric_family_name: "bad name".into(),
                    ..Default::default()
                },
            ],
        };
        let per_series =
            decode_remote_write_series(&body(&request), Some("snappy"), &Limits::default())
                .unwrap();
        assert_eq!(per_series.series.len(), 2);
        assert_eq!(per_series.series[0].samples, vec![(1000, 1.0), (2000, 0.0)]);
        assert_eq!(per_series.series[1].labels.len(), 2);
        assert_eq!(per_series.stats.samples_accepted, 4);
        let decoded = decode_remote_write(&body(&request), Some("snappy")).unwrap();
        // (Compared as text: the staleness marker is a NaN, unequal to itself.)
        assert_eq!(
            format!("{:?}", per_series.into_samples()),
            format!("{decoded:?}")
        );
        assert_eq!(decoded.error, "");
        assert_eq!(decoded.samples.len(), 4);
        let s = &decoded.samples[1];
        assert_eq!(s.name(), "up");
        assert_eq!(s.label("job"), Some("node"));
        assert_eq!((s.t_ms, s.v), (2000, 0.0));
        // The empty `path` label is dropped.
        assert_eq!(
            decoded.samples[2].labels,
            vec![
                ("__name__".to_owned(), "http_requests_total".to_owned()),
                ("code".to_owned(), "200".to_owned())
            ]
        );
        assert!(is_stale_nan(decoded.samples[3].v));
        assert_eq!(
            decoded.metadata,
            vec![Metadata {
                family: "http_requests_total".into(),
                metric_type: MetricType::Counter,
                help: "Requests.".into(),
                unit: String::new(),
            }]
        );
        assert_eq!(
            decoded.stats,
            RemoteWriteStats {
                series: 2,
                samples_accepted: 4,
                metadata: 1,
                ..Default::default()
            }
        );
    }

    #[test]
    fn absent_encoding_means_snappy_and_others_are_refused() {
        let request = prompb::WriteRequest {
            timeseries: vec![series(&[("__name__", "up")], &[(1, 1.0)])],
            ..Default::default()
        };
        assert_eq!(
            decode_remote_write(&body(&request), None)
                .unwrap()
                .samples
                .len(),
            1
        );
        assert_eq!(
            decode_remote_write(&body(&request), Some("SNAPPY"))
                .unwrap()
                .samples
                .len(),
            1
        );
        let err = decode_remote_write(&body(&request), Some("gzip")).unwrap_err();
        assert!(err.is_unsupported_media(), "{err}");
    }

    #[test]
    fn invalid_series_are_refused_one_by_one() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("job", "x"), ("__name__", "up")], "not sorted"),
            (
                &[("__name__", "up"), ("job", "a"), ("job", "b")],
                "duplicate label name \"job\"",
            ),
            (
                &[("__name__", "up"), ("a-b", "x")],
                "invalid label name \"a-b\"",
            ),
            (&[("__name__", "9up")], "invalid metric name"),
            (&[("__name__", "")], "empty metric name"),
            (&[("job", "x")], "no metric name"),
            (&[], "no metric name"),
        ];
        for (labels, expected) in cases {
            let request = prompb::WriteRequest {
                timeseries: vec![
                    series(labels, &[(1, 1.0), (2, 2.0)]),
                    series(&[("__name__", "ok")], &[(1, 1.0)]),
                ],
                ..Default::default()
            };
            let decoded = decode_remote_write(&body(&request), None).unwrap();
            assert!(
                decoded.error.contains(expected),
                "{labels:?}: {}",
                decoded.error
            );
            assert_eq!(decoded.samples.len(), 1, "{labels:?}");
            assert_eq!(decoded.samples[0].name(), "ok");
            assert_eq!(decoded.stats.series_rejected, 1);
            assert_eq!(decoded.stats.samples_rejected, 2);
        }
    }

    #[test]
    fn native_histograms_are_refused_per_series() {
        let mut only_histograms = series(&[("__name__", "latency")], &[]);
        only_histograms.histograms = vec![prompb::Histogram {
            count_int: Some(3),
            sum: 1.5,
            schema: 3,
            timestamp: 10,
            ..Default::default()
        }];
        let mut mixed = series(&[("__name__", "mixed")], &[(5, 5.0)]);
        mixed.histograms = vec![prompb::Histogram::default(); 2];
        mixed.exemplars = vec![prompb::Exemplar::default()];
        let request = prompb::WriteRequest {
            timeseries: vec![only_histograms, mixed],
            ..Default::default()
        };
        let decoded = decode_remote_write(&body(&request), None).unwrap();
        assert!(decoded
            .error
            .contains("latency{}: native histograms are not supported"));
        assert_eq!(decoded.samples.len(), 1);
        assert_eq!(decoded.samples[0].name(), "mixed");
        assert_eq!(decoded.stats.histograms_rejected, 3);
        assert_eq!(decoded.stats.series_rejected, 1);
        assert_eq!(decoded.stats.exemplars_ignored, 0);
        assert_eq!(
            decoded.exemplars.len(),
            1,
            "the accepted series' exemplar is kept"
        );
        assert_eq!(decoded.exemplars[0].series, decoded.samples[0].labels);
    }

    #[test]
    fn hostile_bodies_are_errors() {
        let request = prompb::WriteRequest {
            timeseries: vec![series(&[("__name__", "up"), ("job", "j")], &[(1, 1.0)])],
            ..Default::default()
        };
        let encoded = request.encode_to_vec();
        // Truncated protobuf inside valid snappy.
        for cut in 1..encoded.len() {
            let compressed = snap::raw::Encoder::new()
                .compress_vec(&encoded[..cut])
                .unwrap();
            // Some prefixes are themselves valid messages; none may panic.
            let _ = decode_remote_write(&compressed, None);
        }
        let compressed = snap::raw::Encoder::new()
            .compress_vec(&encoded[..encoded.len() - 3])
            .unwrap();
        assert!(matches!(
            decode_remote_write(&compressed, None),
            Err(DecodeError::Protobuf(_))
        ));
        // Not snappy at all, and snappy whose header lies.
        assert!(matches!(
            decode_remote_write(&encoded, None),
            Err(DecodeError::Decompression(_) | DecodeError::BodyTooLarge { .. })
        ));
        let mut lying = body(&request);
        lying[0] = lying[0].wrapping_add(5);
        assert!(decode_remote_write(&lying, None).is_err());
        assert!(matches!(
            decode_remote_write(&[0xff, 0xff, 0xff, 0xff, 0x0f], None),
            Err(DecodeError::BodyTooLarge { .. })
        ));
        // Arbitrary bytes never panic.
        let mut x: u32 = 12345;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            let _ = decode_remote_write(&bytes, None);
            let compressed = snap::raw::Encoder::new().compress_vec(&bytes).unwrap();
            let _ = decode_remote_write(&compressed, None);
        }
    }

    #[test]
    fn ten_megabyte_label_is_refused_within_limits() {
        let huge = "x".repeat(10 << 20);
        let request = prompb::WriteRequest {
            timeseries: vec![
                series(&[("__name__", "up"), ("big", &huge)], &[(1, 1.0)]),
                series(&[("__name__", "small")], &[(1, 1.0)]),
            ],
            ..Default::default()
        };
        let decoded = decode_remote_write(&body(&request), None).unwrap();
        assert_eq!(decoded.samples.len(), 1);
        assert!(
            decoded.error.contains("longer than the limit"),
            "{}",
            decoded.error
        );
        assert!(decoded.error.len() < 1000);

        // Over the body limit it is refused before decoding.
        let limits = Limits {
            max_decompressed_bytes: 1 << 20,
            ..Limits::default()
        };
        assert!(matches!(
            decode_remote_write_with(&body(&request), None, &limits),
            Err(DecodeError::BodyTooLarge { .. })
        ));
    }

    #[test]
    fn many_samples_of_long_labels_hit_the_output_budget() {
        let value = "v".repeat(60 << 10);
        let samples: Vec<(i64, f64)> = (0..20_000).map(|i| (i, 1.0)).collect();
        let request = prompb::WriteRequest {
            timeseries: vec![series(&[("__name__", "up"), ("l", &value)], &samples)],
            ..Default::default()
        };
        // 20,000 copies of 60 KiB would be 1.2 GB of labels.
        let err = decode_remote_write(&body(&request), None).unwrap_err();
        assert!(err.is_too_large(), "{err}");
    }

    #[test]
    fn describe_is_bounded() {
        let labels = vec![
            ("__name__".to_owned(), "up".to_owned()),
            ("a".to_owned(), "b".repeat(1000)),
        ];
        let d = describe(&labels);
        assert!(d.starts_with("up{a=\"bbb"));
        assert!(d.len() < 200);
    }
}
