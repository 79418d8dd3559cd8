//! Pushed metrics into the embedded store: Prometheus remote-write 1.0 at `/api/v1/write`
//! and OTLP/HTTP metrics at `/v1/metrics`. Decoding is the `ingest` crate's; a request is
//! stored as one all-or-nothing batch (acknowledged only once it is durable), and a
//! refused request stores nothing.

use app::dto::Role;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Api;
use crate::embedded::{per_series, AppendFailure, EmbeddedStore, Metadata, SeriesPoints};
use crate::http::errors::ApiError;
use crate::state::AppState;

/// Samples one request may carry: the store's batch limit.
const MAX_SAMPLES: usize = 100_000;

pub(super) fn routes(api: Api) -> Api {
    api.at(Method::POST, "/api/v1/write", Role::Editor, remote_write)
        .at(Method::POST, "/v1/metrics", Role::Editor, otlp_metrics)
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn limits() -> ingest::Limits {
    ingest::Limits {
        max_samples: MAX_SAMPLES,
        ..Default::default()
    }
}

pub(super) fn decode_failure(e: ingest::DecodeError) -> ApiError {
    let status = if e.is_too_large() {
        StatusCode::PAYLOAD_TOO_LARGE
    } else if e.is_unsupported_media() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut err = ApiError::new(status, "invalid", e.to_string());
    err.field = Some("body".into());
    err
}

fn store(state: &AppState) -> Result<&std::sync::Arc<EmbeddedStore>, ApiError> {
    state.embedded.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the embedded metrics store is not running",
        )
    })
}

/// Stores the decoded samples (per series) as one batch; refusals are 400 (the sender must
/// not retry), a full ingest pool 503 (it should).
async fn append(
    store: &std::sync::Arc<EmbeddedStore>,
    series: Vec<SeriesPoints>,
    metadata: &[ingest::Metadata],
) -> Result<usize, ApiError> {
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
        AppendFailure::Refused(err) => {
            let mut api = ApiError::invalid("body", err.to_string());
            api.code = "refused";
            api
        }
        AppendFailure::Busy => {
            let mut api = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the store is busy with other writes; retry",
            );
            api.retry_after = Some(1);
            api
        }
    })
}

async fn remote_write(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let store = store(&state)?;
    let encoding = header_str(&headers, header::CONTENT_ENCODING).map(str::to_owned);
    let decoded = crate::cpu::INGEST
        .run(move || ingest::decode_remote_write_series(&body, encoding.as_deref(), &limits()))
        .await
        .map_err(ApiError::from)?
        .map_err(decode_failure)?;
    let series = decoded
        .series
        .into_iter()
        .map(|s| (s.labels, s.samples))
        .collect();
    append(store, series, &decoded.metadata).await?;
    store.add_exemplars(&decoded.exemplars);
    if !decoded.error.is_empty() {
        // The valid series are stored; what was refused is said (Prometheus: 400).
        return Err(ApiError::invalid("body", decoded.error));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn otlp_metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let store = store(&state)?;
    let content_type = header_str(&headers, header::CONTENT_TYPE).map(str::to_owned);
    let encoding = header_str(&headers, header::CONTENT_ENCODING).map(str::to_owned);
    // Delta temporality is accepted as it is (Prometheus's otlp-native-delta-ingestion):
    // OTLP senders that default to delta would otherwise lose every counter.
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
        .await
        .map_err(ApiError::from)?
        .map_err(decode_failure)?;
    let answer = decoded.response_body();
    let content_type = decoded.format.content_type();
    let series = per_series(decoded.samples.into_iter().map(|s| (s.labels, s.t_ms, s.v)));
    append(store, series, &decoded.metadata).await?;
    store.add_exemplars(&decoded.exemplars);
    Ok(([(header::CONTENT_TYPE, content_type)], answer).into_response())
}
