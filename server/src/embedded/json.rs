//! Query results in the JSON shapes of Prometheus's HTTP API: sample values as strings
//! (`"1.5"`, `"NaN"`, `"+Inf"`), times as Unix seconds.

use promql::{Labels, Value};
use serde::ser::{SerializeMap, SerializeSeq, SerializeTuple};
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value as Json};

/// A value as Prometheus writes it (Go's `FormatFloat(v, 'f', -1, 64)`: no exponent).
pub fn number(v: f64) -> String {
    Number(v).to_string()
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

/// About the bytes [`write_success`] writes for `value` (a matrix 24 per point and 160 per
/// series, a vector 200 per sample), at most 64 MiB: the capacity to write it into.
pub fn size_hint(value: &Value) -> usize {
    let n = match value {
        Value::Scalar { .. } | Value::String { .. } => 64,
        Value::Vector(samples) => 64 + samples.len() * 200,
        Value::Matrix(series) => series
            .iter()
            .map(|s| 160 + s.samples.len() * 24)
            .fold(64, usize::saturating_add),
    };
    n.min(64 << 20)
}

/// `data` of a query answer other than a matrix, `{"resultType":…,"result":…}`,
/// serialised as [`data`] builds it, without the tree ([`write_success`] writes a
/// matrix's bytes itself).
#[derive(Serialize)]
struct Data<'a, R: Serialize> {
    #[serde(rename = "resultType")]
    result_type: &'static str,
    result: &'a R,
}

/// A vector's samples, `[{"metric":…,"value":[time,"value"]},…]`.
struct Samples<'a>(&'a [promql::Sample]);

/// One sample of a vector.
struct SampleRef<'a>(&'a promql::Sample);

/// `[time, "value"]`.
struct Point(i64, f64);

/// A time as [`seconds`] writes it.
struct Seconds(i64);

/// A label set as a JSON object.
struct LabelMap<'a>(&'a Labels);

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 1000 == 0 {
            s.serialize_i64(self.0 / 1000)
        } else {
            s.serialize_f64(self.0 as f64 / 1000.0)
        }
    }
}

/// A value as [`number`] writes it, written straight into the output (no `String` per
/// point: a range answer holds up to millions).
struct Number(f64);

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = Vec::with_capacity(24);
        write_number(&mut out, self.0);
        // Only ASCII digits, signs, points and the words NaN and Inf are written.
        f.write_str(std::str::from_utf8(&out).map_err(|_| std::fmt::Error)?)
    }
}

/// Appends `v` as Prometheus writes it (Go's `FormatFloat(v, 'f', -1, 64)`: no exponent).
fn write_number(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v == f64::INFINITY {
        out.extend_from_slice(b"+Inf");
    } else if v == f64::NEG_INFINITY {
        out.extend_from_slice(b"-Inf");
    } else if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
    } else if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        // Whole numbers (most counters and gauges), exactly while they fit in 53 bits.
        out.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
    } else {
        // The shortest digits that read back as `v`, by ryu, as Go's strconv finds them
        // (ryu too; an exact tie rounds to the even digit, where core::fmt rounds up:
        // 1054958628518721.25 is "…721.2" in Prometheus), written without an exponent.
        let mut buf = ryu::Buffer::new();
        write_plain(out, buf.format_finite(v));
    }
}

/// Appends ryu's output (`-1.25`, `1.5e-7`, `1e21`) as a plain decimal (`0.00000015`,
/// `1000000000000000000000`), as Go's `FormatFloat(v, 'f', -1, 64)` does.
fn write_plain(out: &mut Vec<u8>, text: &str) {
    let Some((mantissa, exp)) = text.split_once('e') else {
        // ryu writes whole numbers as `1.0`; those are rare here (beyond 2^53).
        out.extend_from_slice(text.strip_suffix(".0").unwrap_or(text).as_bytes());
        return;
    };
    // ryu's exponents are small integers.
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    // Digits without the point; the point sits after the first digit, moved by `exp`.
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let point = int.len() as i32 + exp;
    out.extend_from_slice(sign.as_bytes());
    let digits = int.bytes().chain(frac.bytes());
    let n = (int.len() + frac.len()) as i32;
    if point <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-point) as usize));
        out.extend(digits);
    } else if point >= n {
        out.extend(digits);
        out.extend(std::iter::repeat_n(b'0', (point - n) as usize));
    } else {
        for (i, d) in digits.enumerate() {
            if i as i32 == point {
                out.push(b'.');
            }
            out.push(d);
        }
    }
}

/// Appends a point `[time, "value"]` as [`Point`] serialises it: whole seconds by itoa as
/// serde_json writes an integer, others by ryu as it writes a float.
fn write_point(out: &mut Vec<u8>, t_ms: i64, v: f64) {
    out.push(b'[');
    if t_ms % 1000 == 0 {
        out.extend_from_slice(itoa::Buffer::new().format(t_ms / 1000).as_bytes());
    } else {
        out.extend_from_slice(
            ryu::Buffer::new()
                .format_finite(t_ms as f64 / 1000.0)
                .as_bytes(),
        );
    }
    out.extend_from_slice(b",\"");
    write_number(out, v);
    out.extend_from_slice(b"\"]");
}

/// Appends a successful answer, `{"status":"success","data":…}` with `warnings` and `infos`
/// when there are any, byte for byte as serde_json writes the tree of [`data`] in that
/// envelope (keys in this order). A matrix (up to millions of points) is written directly,
/// the other results through serde_json ([`Data`]).
pub fn write_success(
    out: &mut Vec<u8>,
    value: &Value,
    warnings: &[String],
    infos: &[String],
) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"status\":\"success\",\"data\":");
    match value {
        Value::Matrix(series) => {
            out.extend_from_slice(b"{\"resultType\":\"matrix\",\"result\":[");
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"metric\":");
                serde_json::to_writer(&mut *out, &LabelMap(&s.labels))?;
                out.extend_from_slice(b",\"values\":[");
                for (j, &(t, v)) in s.samples.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    write_point(out, t, v);
                }
                out.extend_from_slice(b"]}");
            }
            out.extend_from_slice(b"]}");
        }
        Value::Scalar { t, v } => write_data(out, "scalar", &Point(*t, *v))?,
        Value::String { t, s } => write_data(out, "string", &(Seconds(*t), s))?,
        Value::Vector(samples) => write_data(out, "vector", &Samples(samples))?,
    }
    for (key, list) in [("warnings", warnings), ("infos", infos)] {
        if !list.is_empty() {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
            serde_json::to_writer(&mut *out, list)?;
        }
    }
    out.push(b'}');
    Ok(())
}

/// Appends `{"resultType":…,"result":…}` through serde_json ([`Data`]).
fn write_data<R: Serialize>(
    out: &mut Vec<u8>,
    result_type: &'static str,
    result: &R,
) -> serde_json::Result<()> {
    serde_json::to_writer(
        out,
        &Data {
            result_type,
            result,
        },
    )
}

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&Seconds(self.0))?;
        t.serialize_element(&Number(self.1))?;
        t.end()
    }
}

impl Serialize for LabelMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (n, v) in self.0.iter() {
            m.serialize_entry(n, v)?;
        }
        m.end()
    }
}

impl Serialize for Samples<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for x in self.0 {
            seq.serialize_element(&SampleRef(x))?;
        }
        seq.end()
    }
}

impl Serialize for SampleRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("metric", &LabelMap(&self.0.labels))?;
        m.serialize_entry("value", &Point(self.0.t, self.0.v))?;
        m.end()
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
        // As Prometheus 2.42 answers these as scalars (`/api/v1/query?query=<v>`): exact
        // ties round to the even digit.
        let exact = |s: &str| s.parse::<f64>().unwrap();
        assert_eq!(number(exact("1054958628518721.25")), "1054958628518721.2");
        assert_eq!(number(exact("11738411053870.5625")), "11738411053870.562");
        assert_eq!(
            number(exact("0.0033333333333333335")),
            "0.0033333333333333335"
        );
        assert_eq!(number(1.5e21), "1500000000000000000000");
        assert_eq!(number(9_007_199_254_740_993.0), "9007199254740992");
        assert_eq!(number(-1.25e-10), "-0.000000000125");
    }

    #[test]
    fn numbers_are_the_shortest_plain_decimals() {
        // A spread of magnitudes, signs and fractions (a fixed pseudo-random sequence),
        // and the edges of the fast paths.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            1e15,
            -1e15,
            1e15 - 1.0,
            1e16,
            1e-5,
            1e-7,
            123.456,
            0.1,
            0.3,
            2.5e-3,
            9_007_199_254_740_993.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
        ];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if v.is_finite() {
                values.push(v);
            }
            let scaled = (x % 2_000_000) as f64 / [1.0, 10.0, 1000.0, 3.0][(x % 4) as usize];
            values.push(if x.is_multiple_of(3) { -scaled } else { scaled });
        }
        // core::fmt also writes the shortest digits without an exponent, so the two agree
        // except on an exact tie, which it rounds up and Go (and ryu) round to even.
        let digits = |s: &str| s.bytes().filter(u8::is_ascii_digit).collect::<Vec<u8>>();
        for v in values {
            let (ours, std) = (Number(v).to_string(), format!("{v}"));
            assert_eq!(
                ours.parse::<f64>().ok(),
                Some(v),
                "{v:e} read back from {ours}"
            );
            if ours != std {
                let (a, b) = (digits(&ours), digits(&std));
                let (last_a, last_b) = (a[a.len() - 1], b[b.len() - 1]);
                assert!(
                    ours.len() == std.len()
                        && a[..a.len() - 1] == b[..b.len() - 1]
                        && last_a % 2 == 0
                        && last_b == last_a + 1,
                    "{v:e}: {ours} against {std}"
                );
            }
        }
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
    fn the_written_answer_equals_serde_jsons_writing_of_the_tree() {
        // The reference: serde_json writing the tree in-process callers get (`data`), in
        // the envelope and key order of a Prometheus answer (serde_json's maps sort their
        // keys; the tree's inner objects are already in that order). Labels' escaping,
        // times and values are compared byte for byte against serde_json's own writer.
        #[derive(Serialize)]
        struct Body<'a> {
            status: &'static str,
            data: Tree<'a>,
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            warnings: &'a [String],
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            infos: &'a [String],
        }
        #[derive(Serialize)]
        struct Tree<'a> {
            #[serde(rename = "resultType")]
            result_type: &'a Json,
            result: &'a Json,
        }
        let labels = Labels::new([("__name__", "up"), ("job", "a\"b\\c\n"), ("é", "☃")]);
        let points: Vec<(i64, f64)> = [
            1.0,
            -0.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            1e21,
            1.5e-7,
            0.1 + 0.2,
            // An exact tie (written "…721.2", rounded to even).
            "1054958628518721.25".parse().unwrap(),
        ]
        .iter()
        .enumerate()
        .map(|(i, &v)| (1_700_000_000_000 + i as i64 * 250 - 1_000, v))
        .collect();
        let series = |l: &Labels, p: &[(i64, f64)]| promql::Series {
            labels: l.clone(),
            samples: p.to_vec(),
        };
        let warned = ["PromQL warning: \"x\"".to_string()];
        for v in [
            Value::Matrix(vec![]),
            Value::Matrix(vec![series(&labels, &points)]),
            Value::Matrix(vec![
                series(&labels, &points),
                series(&Labels::empty(), &[]),
                series(&Labels::new([("a", "1")]), &points[..1]),
                series(
                    &Labels::new([("t", "neg")]),
                    &[(-1_500, 2.0), (-2_000, 3.0)],
                ),
            ]),
            Value::Scalar {
                t: 1_500,
                v: f64::NAN,
            },
            Value::Vector(vec![promql::Sample {
                labels: labels.clone(),
                t: 1_000,
                v: 0.25,
            }]),
            Value::Vector(vec![
                promql::Sample {
                    labels: Labels::empty(),
                    t: -1_500,
                    v: f64::INFINITY,
                },
                promql::Sample {
                    labels: Labels::new([("a", "1")]),
                    t: 1_700_000_000_250,
                    v: 1e-7,
                },
            ]),
            Value::Vector(vec![]),
            Value::String {
                t: 2_000,
                s: "x\"y".into(),
            },
        ] {
            for (warnings, infos) in [(&[][..], &[][..]), (&warned[..], &warned[..])] {
                let mut ours = Vec::new();
                write_success(&mut ours, &v, warnings, infos).unwrap();
                let tree = data(&v);
                let theirs = serde_json::to_vec(&Body {
                    status: "success",
                    data: Tree {
                        result_type: &tree["resultType"],
                        result: &tree["result"],
                    },
                    warnings,
                    infos,
                })
                .unwrap();
                assert_eq!(
                    String::from_utf8(ours).unwrap(),
                    String::from_utf8(theirs).unwrap()
                );
            }
        }
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
