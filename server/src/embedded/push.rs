//! Pushed metrics into the embedded store, one entry point per protocol (Prometheus
//! remote-write 1.0, OTLP/HTTP metrics): the body decoded on `cpu::INGEST` by the `ingest`
//! crate, the samples stored per series as one all-or-nothing batch (acknowledged only
//! once durable), their metadata and exemplars kept. A refused request stores nothing.
//! The routes (`http/api/ingest.rs`) read the request and shape these answers.

use std::sync::Arc;

use bytes::Bytes;

use super::{per_series, AppendFailure, EmbeddedStore, Metadata, SeriesPoints};
use crate::error::{Error, Refusal};

/// Samples one request may carry: the store's batch limit.
const MAX_SAMPLES: usize = 100_000;

fn limits() -> ingest::Limits {
    ingest::Limits {
        max_samples: MAX_SAMPLES,
        ..Default::default()
    }
}

/// Stores the decoded samples (per series) as one batch with their metadata; a refusal
/// tells the sender not to retry, a busy store that it should.
async fn append(
    store: &Arc<EmbeddedStore>,
    series: Vec<SeriesPoints>,
    metadata: &[ingest::Metadata],
) -> Result<usize, Error> {
    store.record_metadata(metadata.iter().map(|m| {
        (
            m.family.clone(),
            Metadata {
                kind: m.metric_type.as_str().to_owned(),
                help: m.help.clone(),
                unit: m.unit.clone(),
            },
        )
    }));
    store.append_series(series).await.map_err(|e| match e {
        AppendFailure::Refused(err) => Error::refused(Refusal::Refused, err.to_string(), None),
        AppendFailure::Busy => {
            Error::StoreBusy("the store is busy with other writes; retry".to_owned())
        }
    })
}

/// Remote-write 1.0: the valid series are stored; series the decoder refused are said
/// after (as Prometheus answers, a 400 the sender does not retry).
pub async fn remote_write(
    store: &Arc<EmbeddedStore>,
    body: Bytes,
    encoding: Option<String>,
) -> Result<(), Error> {
    let decoded = crate::cpu::INGEST
        .run(move || ingest::decode_remote_write_series(&body, encoding.as_deref(), &limits()))
        .await?
        .map_err(|error| Error::Undecodable { error, limit: None })?;
    let series = decoded
        .series
        .into_iter()
        .map(|s| (s.labels, s.samples))
        .collect();
    append(store, series, &decoded.metadata).await?;
    store.add_exemplars(&decoded.exemplars);
    if !decoded.error.is_empty() {
        return Err(Error::invalid("body", decoded.error));
    }
    Ok(())
}

/// OTLP/HTTP metrics, delta temporality accepted as it is (Prometheus's
/// otlp-native-delta-ingestion: OTLP senders that default to delta would otherwise lose
/// every counter). Answers the response's content type and body.
pub async fn otlp(
    store: &Arc<EmbeddedStore>,
    body: Bytes,
    content_type: Option<String>,
    encoding: Option<String>,
) -> Result<(&'static str, Vec<u8>), Error> {
    let options = ingest::OtlpOptions {
        allow_delta_temporality: true,
        ..Default::default()
    };
    let decoded = crate::cpu::INGEST
        .run(move || {
            ingest::decode_otlp_metrics_with(
                &body,
                content_type.as_deref(),
                encoding.as_deref(),
                &options,
                &limits(),
            )
        })
        .await?
        .map_err(|error| Error::Undecodable { error, limit: None })?;
    let answer = decoded.response_body();
    let content_type = decoded.format.content_type();
    let series = per_series(decoded.samples.into_iter().map(|s| (s.labels, s.t_ms, s.v)));
    append(store, series, &decoded.metadata).await?;
    store.add_exemplars(&decoded.exemplars);
    Ok((content_type, answer))
}
