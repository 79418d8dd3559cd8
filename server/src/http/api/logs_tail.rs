//! `GET /api/v1/logs/tail`: the lines matching `query` (the language of
//! `/api/v1/logs/query`) stored after the stream opened, as server-sent events — `ready`
//! once the tail listens, one `line` per line (its `id` the line's id, its data the line as
//! the query API gives it), and `skipped` with the lines not sent (over `rate` lines per
//! second, or lost while the reader was too slow). At most `logs::tail::MAX_TAILS` streams
//! are open at once; more are answered 429.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, StreamExt};
use serde_json::json;

use super::logs::{number, param, parsed_query, store};
use crate::http::errors::ApiError;
use crate::logs::tail::{TailEvent, DEFAULT_RATE, MAX_RATE, MAX_TAILS};
use crate::sources::embedded_logs::line;
use crate::state::AppState;

/// A comment line this often keeps proxies from closing an idle stream, and finds a
/// reader that has gone (its slot is freed then).
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(super) async fn tail(
    State(state): State<AppState>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let store = store(&state)?;
    let query = parsed_query(&param(&p, "query").unwrap_or_default())?;
    let rate = number(&p, "rate", DEFAULT_RATE as usize, MAX_RATE as usize)? as u32;
    let tail = store.tail(query, rate).map_err(|_| {
        let mut api = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "busy",
            format!("{MAX_TAILS} live tails are open; close one or retry later"),
        );
        api.retry_after = Some(5);
        api
    })?;
    let ready = Event::default()
        .event("ready")
        .json_data(json!({ "rate": rate }))
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let events = stream::unfold(tail, |mut tail| async move {
        let events = match tail.next().await? {
            TailEvent::Lines(lines) => lines
                .into_iter()
                .filter_map(|(seq, record)| {
                    let l = line(seq, record);
                    Event::default()
                        .event("line")
                        .id(l.id.clone())
                        .json_data(&l)
                        .ok()
                })
                .collect(),
            TailEvent::Skipped {
                rate_limited,
                lagged_batches,
            } => Event::default()
                .event("skipped")
                .json_data(json!({
                    "rate_limited": rate_limited,
                    "lagged_batches": lagged_batches,
                }))
                .ok()
                .into_iter()
                .collect::<Vec<_>>(),
        };
        Some((stream::iter(events), tail))
    })
    .flatten();
    let all = stream::once(async move { ready })
        .chain(events)
        .map(Ok::<_, Infallible>);
    Ok(Sse::new(all)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}
