//! Remote-write 1.0 requests as Prometheus sends them (a `prompb::WriteRequest`, protobuf,
//! snappy block format), and one sender for every receiver, so the portal, Prometheus and
//! VictoriaMetrics get the same bytes.

use prost::Message;

/// One series and its samples (Unix ms, value), oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Vec<(String, String)>,
    pub samples: Vec<(i64, f64)>,
}

/// The samples in `series`, counted.
pub fn sample_count(series: &[Series]) -> usize {
    series.iter().map(|s| s.samples.len()).sum()
}

/// One request body: every series with its samples, labels sorted by name as Prometheus
/// sends them.
pub fn encode(series: &[Series]) -> Vec<u8> {
    compress(&request(series))
}

/// The body of `request`: protobuf, snappy block format.
pub fn compress(request: &ingest::prompb::WriteRequest) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .expect("snappy compresses any input")
}

/// The request for `series` (to add what `Series` does not hold, such as exemplars).
pub fn request(series: &[Series]) -> ingest::prompb::WriteRequest {
    ingest::prompb::WriteRequest {
        timeseries: series
            .iter()
            .map(|s| {
                let mut labels: Vec<_> = s
                    .labels
                    .iter()
                    .map(|(name, value)| ingest::prompb::Label {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect();
                labels.sort_by(|a, b| a.name.cmp(&b.name));
                ingest::prompb::TimeSeries {
                    labels,
                    samples: s
                        .samples
                        .iter()
                        .map(|&(timestamp, value)| ingest::prompb::Sample { value, timestamp })
                        .collect(),
                    ..Default::default()
                }
            })
            .collect(),
        ..Default::default()
    }
}

/// POSTs one body to the portal's `/api/v1/write` as `client`: the status and the answer.
pub async fn push(client: &crate::api::Client, body: Vec<u8>) -> (reqwest::StatusCode, String) {
    let resp = client
        .request(reqwest::Method::POST, "/api/v1/write")
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(body)
        .send()
        .await
        .expect("the portal answers");
    let status = resp.status();
    (status, resp.text().await.unwrap_or_default())
}

/// Splits `series` into bodies of at most `max_samples` samples each (whole series; a
/// series longer than that alone in its body).
pub fn encode_in_parts(series: &[Series], max_samples: usize) -> Vec<Vec<u8>> {
    let mut bodies = Vec::new();
    let (mut from, mut in_part) = (0, 0);
    for (i, s) in series.iter().enumerate() {
        if in_part > 0 && in_part + s.samples.len() > max_samples {
            bodies.push(encode(&series[from..i]));
            (from, in_part) = (i, 0);
        }
        in_part += s.samples.len();
    }
    if from < series.len() {
        bodies.push(encode(&series[from..]));
    }
    bodies
}

/// POSTs one body to a remote-write receiver (`url` is the full `/api/v1/write` URL),
/// with a Bearer token when given. Err names the status and the answer.
pub async fn send(
    http: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
    body: Vec<u8>,
) -> Result<(), String> {
    let mut req = http
        .post(url)
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(body);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "{url}: {status} {}",
            resp.text().await.unwrap_or_default()
        ))
    }
}
