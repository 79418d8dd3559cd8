//! Pushed log lines into the embedded log store, one entry point per protocol (JSON lines,
//! OTLP/HTTP logs, Loki's push API; Elasticsearch's bulk API is `elastic::bulk`): the body
//! decoded on `cpu::INGEST`, turned into records, refusals counted by protocol and reason,
//! the rest appended as one all-or-nothing batch. The routes (`http/api/logs.rs`) read the
//! request and shape these answers.

use bytes::Bytes;
use serde_json::json;

use super::records::{from_loki, from_otlp_lines, parse_json_lines, Limits};
use super::{now_ns, LogStore, LogStoreError};
use crate::error::{Error, Refusal};

/// What every push carries: the service of lines that name none, the body's type and
/// encoding, and the body.
pub struct Push {
    pub service: String,
    pub content_type: Option<String>,
    pub encoding: Option<String>,
    pub body: Bytes,
}

/// A refused or failed append in the domain's words.
pub fn append_failure(e: LogStoreError) -> Error {
    match e {
        LogStoreError::Refused(m) => Error::refused(Refusal::Refused, m, None),
        LogStoreError::Limit(r) => {
            Error::refused(Refusal::Limit, r.message, Some(json!({ "limit": r.limit })))
        }
        LogStoreError::Busy => Error::StoreBusy(e.to_string()),
        other => Error::internal(anyhow::anyhow!(other.to_string())),
    }
}

/// A body the decoder refused, counted under `protocol`; one it refused for carrying too
/// many records names `logs_max_lines_per_request`.
fn undecodable(
    store: &LogStore,
    protocol: &str,
    error: ingest::DecodeError,
    lines: usize,
) -> Error {
    let limit = match error {
        ingest::DecodeError::TooManySamples { .. } => Some(Limits::LINES),
        _ => None,
    };
    let reason = if limit.is_some() {
        "limit"
    } else {
        "malformed"
    };
    store.count_refused(protocol, reason, lines);
    Error::Undecodable { error, limit }
}

/// JSON lines: the whole request is stored or refused (the bad line named); answers the
/// lines stored.
pub async fn json_lines(store: &LogStore, push: Push) -> Result<usize, Error> {
    let Push { service, body, .. } = push;
    let lines = bytecount_lines(&body);
    let limits = *store.limits();
    let parsed = crate::cpu::INGEST
        .run(move || parse_json_lines(&body, &service, now_ns(), &limits))
        .await?;
    let records = parsed.map_err(|e| {
        let (reason, why, details) = match e.limit {
            Some(limit) => (
                "limit",
                Refusal::Limit,
                json!({ "line": e.line, "limit": limit }),
            ),
            None => ("malformed", Refusal::Malformed, json!({ "line": e.line })),
        };
        store.count_refused("jsonl", reason, lines);
        Error::refused(why, e.to_string(), Some(details))
    })?;
    store.append("jsonl", records).await.map_err(append_failure)
}

/// OTLP/HTTP logs: records the store cannot take (over a limit, a bad time) are refused
/// one by one in the partial success; the rest are stored as one batch. More records than
/// a request may carry refuse the whole request. Answers the response's content type and
/// body.
pub async fn otlp(store: &LogStore, push: Push) -> Result<(&'static str, Vec<u8>), Error> {
    let Push {
        service,
        content_type,
        encoding,
        body,
    } = push;
    let limits = *store.limits();
    let decoded = crate::cpu::INGEST
        .run(move || {
            let mut decoded = ingest::decode_otlp_logs(
                &body,
                content_type.as_deref(),
                encoding.as_deref(),
                &ingest::Limits::default(),
                limits.lines,
            )?;
            let lines = std::mem::take(&mut decoded.lines);
            let sorted = from_otlp_lines(lines, &service, now_ns(), &limits);
            Ok::<_, ingest::DecodeError>((decoded, sorted))
        })
        .await?;
    let (decoded, sorted) = decoded.map_err(|e| undecodable(store, "otlp", e, 1))?;
    store.count_refused("otlp", "limit", sorted.over_limit);
    store.count_refused(
        "otlp",
        "invalid_record",
        sorted.rejected as usize - sorted.over_limit,
    );
    store
        .append("otlp", sorted.kept)
        .await
        .map_err(append_failure)?;
    let answer = decoded.response_body(sorted.rejected, &sorted.reason);
    Ok((decoded.format.content_type(), answer))
}

/// Why a Loki push stored nothing: a body the decoder refused, or an entry that cannot be
/// stored (with the request's entries, counted as refused).
enum LokiRefusal {
    Undecodable(ingest::DecodeError),
    Entry {
        lines: usize,
        reason: &'static str,
        error: Error,
    },
}

/// The Loki push API: the whole request is stored or refused (a bad entry is named).
pub async fn loki(store: &LogStore, push: Push) -> Result<(), Error> {
    let Push {
        service,
        content_type,
        encoding,
        body,
    } = push;
    let limits = *store.limits();
    let decoded = crate::cpu::INGEST
        .run(move || {
            let entries = ingest::decode_loki_push(
                &body,
                content_type.as_deref(),
                encoding.as_deref(),
                &ingest::Limits::default(),
                limits.lines,
            )
            .map_err(LokiRefusal::Undecodable)?;
            let lines = entries.len();
            entries
                .into_iter()
                .enumerate()
                .map(|(i, e)| {
                    from_loki(e, &service, &limits).map_err(|r| {
                        let (reason, why) = match r.limit {
                            Some(_) => ("limit", Refusal::Limit),
                            None => ("malformed", Refusal::Malformed),
                        };
                        let details = json!({ "entry": i, "limit": r.limit });
                        LokiRefusal::Entry {
                            lines,
                            reason,
                            error: Error::refused(why, format!("entry {i}: {r}"), Some(details)),
                        }
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    let records = decoded.map_err(|refusal| match refusal {
        LokiRefusal::Undecodable(e) => undecodable(store, "loki", e, 1),
        LokiRefusal::Entry {
            lines,
            reason,
            error,
        } => {
            store.count_refused("loki", reason, lines);
            error
        }
    })?;
    store
        .append("loki", records)
        .await
        .map_err(append_failure)?;
    Ok(())
}

fn bytecount_lines(body: &[u8]) -> usize {
    body.split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .count()
}
