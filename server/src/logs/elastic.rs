//! Elasticsearch's bulk API as log ingest: NDJSON action lines (`index`, `create`) each
//! followed by a document, read as JSON records (`records::from_object`, so `@timestamp`,
//! `message`, `level`/`severity`, `service` map as in JSON lines). What Elasticsearch
//! refuses per item, this refuses per item with its status and error type (a document that
//! is not a JSON object, a bad time, too many fields, `delete` and `update` on an
//! append-only store); what it refuses as a whole (an action line that cannot be read, a
//! document line missing), this refuses as a whole, naming the line.

use logstore::Record;
use serde_json::{json, Map, Value};

use super::records::{from_object, Limits, LineError, Refusal};

/// Attribute holding the index a document was sent to.
pub const INDEX_FIELD: &str = "_index";

/// One action of the request, in order.
#[derive(Debug)]
pub struct Item {
    /// `index` or `create` (as the request named it; also for refused actions).
    pub action: String,
    pub index: String,
    /// `_id` as the request gave it.
    pub id: Option<String>,
    pub outcome: Outcome,
}

#[derive(Debug)]
pub enum Outcome {
    /// Stored as `records[n]` of the [`Bulk`].
    Stored(usize),
    /// Refused: HTTP status, Elasticsearch's error type, the reason.
    Refused(u16, &'static str, String),
}

/// A bulk request read: its items, and the records of those to store.
#[derive(Debug, Default)]
pub struct Bulk {
    pub items: Vec<Item>,
    pub records: Vec<Record>,
    /// Items refused because they broke a limit (of those refused).
    pub over_limit: usize,
}

/// Reads a bulk body; `default_index` is the `{index}` of `/{index}/_bulk`. Too many
/// actions, or an action line over the line size, refuse the whole body; a document over a
/// limit is refused as its item.
pub fn parse_bulk(
    body: &[u8],
    default_index: Option<&str>,
    service: &str,
    now: i64,
    limits: &Limits,
) -> Result<Bulk, LineError> {
    let mut bulk = Bulk::default();
    let mut lines = body
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace));
    while let Some((line, raw)) = lines.next() {
        let bad = |refusal: Refusal| LineError::new(line, refusal);
        limits.check_count(bulk.items.len() + 1).map_err(bad)?;
        limits.check_line(raw.len()).map_err(bad)?;
        let (action, meta) = action_of(raw).map_err(|m| bad(m.into()))?;
        let index = meta
            .get("_index")
            .and_then(Value::as_str)
            .or(default_index)
            .unwrap_or_default()
            .to_owned();
        let id = meta.get("_id").map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let has_source = action != "delete";
        let source = if has_source {
            let (_, doc) = lines.next().ok_or_else(|| {
                bad(format!("the `{action}` action has no document line after it").into())
            })?;
            Some(doc)
        } else {
            None
        };
        let outcome = match (action.as_str(), source) {
            ("index" | "create", Some(_)) if index.is_empty() => Outcome::Refused(
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: index is missing;".into(),
            ),
            ("index" | "create", Some(doc)) => match document(doc, &index, service, now, limits) {
                Ok(record) => {
                    bulk.records.push(record);
                    Outcome::Stored(bulk.records.len() - 1)
                }
                Err(refusal) => {
                    // Elasticsearch's word for a mapping limit (total fields, depth).
                    let kind = if refusal.limit.is_some() {
                        bulk.over_limit += 1;
                        "illegal_argument_exception"
                    } else {
                        "document_parsing_exception"
                    };
                    Outcome::Refused(400, kind, refusal.message)
                }
            },
            _ => Outcome::Refused(
                400,
                "illegal_argument_exception",
                format!("the portal's log store is append-only: `{action}` is not supported"),
            ),
        };
        bulk.items.push(Item {
            action,
            index,
            id,
            outcome,
        });
    }
    Ok(bulk)
}

/// An action line: `{"<action>": {"_index": …, "_id": …}}`.
fn action_of(raw: &[u8]) -> Result<(String, Map<String, Value>), String> {
    let value: Value =
        serde_json::from_slice(raw).map_err(|e| format!("the action line is not JSON: {e}"))?;
    let Value::Object(o) = value else {
        return Err("the action line is not a JSON object".into());
    };
    if o.len() != 1 {
        return Err(format!(
            "an action line names one action, this one has {} keys",
            o.len()
        ));
    }
    let (action, meta) = o.into_iter().next().expect("one key");
    if !matches!(action.as_str(), "index" | "create" | "delete" | "update") {
        return Err(format!(
            "unknown action `{action}` (index, create, delete, update)"
        ));
    }
    match meta {
        Value::Object(m) => Ok((action, m)),
        _ => Err(format!("the `{action}` action's value is not an object")),
    }
}

/// A document line as a record, or why not.
fn document(
    raw: &[u8],
    index: &str,
    service: &str,
    now: i64,
    limits: &Limits,
) -> Result<Record, Refusal> {
    limits.check_line(raw.len())?;
    let value: Value =
        serde_json::from_slice(raw).map_err(|e| Refusal::from(format!("not JSON: {e}")))?;
    let Value::Object(mut o) = value else {
        return Err(Refusal::from(String::from(
            "the document is not a JSON object",
        )));
    };
    if !index.is_empty() {
        o.entry(INDEX_FIELD).or_insert(Value::String(index.into()));
    }
    from_object(o, service, now, limits)
}

/// The answer as Elasticsearch gives it: `took`, `errors`, and one item per action with
/// its status; a stored line's `_id` is its id in the portal (`<time ns>.<seq>`).
/// `times` are the stored records' times, in order.
pub fn answer(items: &[Item], times: &[i64], first_seq: u64, took_ms: u64) -> Value {
    let mut errors = false;
    let items: Vec<Value> = items
        .iter()
        .map(|item| {
            let body = match &item.outcome {
                Outcome::Stored(n) => {
                    let seq = first_seq + *n as u64;
                    let id = format!("{}.{}", times[*n], seq);
                    json!({
                        "_index": item.index,
                        "_id": id,
                        "_version": 1,
                        "result": "created",
                        "_shards": {"total": 1, "successful": 1, "failed": 0},
                        "_seq_no": seq,
                        "_primary_term": 1,
                        "status": 201,
                    })
                }
                Outcome::Refused(status, kind, reason) => {
                    errors = true;
                    json!({
                        "_index": item.index,
                        "_id": item.id,
                        "status": status,
                        "error": {"type": kind, "reason": reason},
                    })
                }
            };
            json!({ item.action.clone(): body })
        })
        .collect();
    json!({ "took": took_ms, "errors": errors, "items": items })
}

/// A whole-request error in Elasticsearch's shape.
pub fn error_body(status: u16, kind: &str, reason: &str) -> Value {
    json!({
        "error": {
            "root_cause": [{"type": kind, "reason": reason}],
            "type": kind,
            "reason": reason,
        },
        "status": status,
    })
}

/// Why a bulk request stored nothing, in the terms Elasticsearch's clients read.
pub enum BulkFailure {
    /// The body is not a bulk request (a line cannot be read, a document is missing) or is
    /// over a limit.
    Malformed(String),
    /// The body holds no action.
    Empty,
    /// The store is busy with other writes; retry.
    StoreBusy,
    /// The store refused the batch.
    Refused(String),
    /// The portal's own: the ingest pool is full, or the store failed.
    Portal(crate::error::Error),
}

/// A bulk request into the log store: parsed on `cpu::INGEST` (documents without a
/// service get `service`, without an index `index`), refused items counted, the rest
/// stored as one batch; answers Elasticsearch's per-item response.
pub async fn bulk(
    store: &super::LogStore,
    index: Option<String>,
    service: String,
    body: bytes::Bytes,
) -> Result<Value, BulkFailure> {
    let started = std::time::Instant::now();
    let limits = *store.limits();
    let parsed = crate::cpu::INGEST
        .run(move || parse_bulk(&body, index.as_deref(), &service, super::now_ns(), &limits))
        .await
        .map_err(|busy| BulkFailure::Portal(busy.into()))?;
    let mut bulk = parsed.map_err(|e| {
        let reason = if e.limit.is_some() {
            "limit"
        } else {
            "malformed"
        };
        store.count_refused("elasticsearch", reason, 1);
        BulkFailure::Malformed(e.to_string())
    })?;
    if bulk.items.is_empty() {
        return Err(BulkFailure::Empty);
    }
    let refused = bulk.items.len() - bulk.records.len();
    store.count_refused("elasticsearch", "limit", bulk.over_limit);
    store.count_refused("elasticsearch", "invalid_record", refused - bulk.over_limit);
    let records = std::mem::take(&mut bulk.records);
    let times: Vec<i64> = records.iter().map(|r| r.time).collect();
    let first_seq = store
        .append_at("elasticsearch", records)
        .await
        .map_err(|e| match e {
            super::LogStoreError::Busy => BulkFailure::StoreBusy,
            e @ (super::LogStoreError::Refused(_) | super::LogStoreError::Limit(_)) => {
                BulkFailure::Refused(e.to_string())
            }
            other => BulkFailure::Portal(crate::error::Error::internal(anyhow::anyhow!(
                other.to_string()
            ))),
        })?;
    let took = started.elapsed().as_millis() as u64;
    Ok(answer(&bulk.items, &times, first_seq, took))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_and_create_are_stored_and_bad_items_refused_one_by_one() {
        let body = br#"{"index":{"_index":"syslog"}}
{"@timestamp":"2026-12-01T10:00:00Z","message":"disk full","severity":"err","host":"web-1"}
{"create":{}}
{"message":"second"}
{"index":{"_index":"syslog"}}
[1,2]
{"delete":{"_index":"syslog","_id":"x"}}
{"update":{"_index":"syslog","_id":"x"}}
{"doc":{"a":1}}
"#;
        let bulk = parse_bulk(body, Some("default"), "", 7, &Limits::default()).unwrap();
        assert_eq!(bulk.records.len(), 2);
        assert_eq!(bulk.records[0].body, "disk full");
        assert_eq!(bulk.records[0].attribute("_index"), Some("syslog"));
        assert_eq!(bulk.records[0].attribute("host"), Some("web-1"));
        assert_eq!(bulk.records[1].attribute("_index"), Some("default"));
        assert_eq!(bulk.records[1].time, 7);
        let times: Vec<i64> = bulk.records.iter().map(|r| r.time).collect();
        let a = answer(&bulk.items, &times, 40, 3);
        assert_eq!(a["errors"], true);
        let items = a["items"].as_array().unwrap();
        assert_eq!(items.len(), 5);
        assert_eq!(items[0]["index"]["status"], 201);
        assert_eq!(items[0]["index"]["_seq_no"], 40);
        assert_eq!(items[1]["create"]["status"], 201);
        assert_eq!(items[1]["create"]["_seq_no"], 41);
        assert_eq!(
            items[2]["index"]["error"]["type"],
            "document_parsing_exception"
        );
        assert_eq!(items[3]["delete"]["status"], 400);
        assert_eq!(items[4]["update"]["status"], 400);
    }

    #[test]
    fn an_unreadable_action_or_a_missing_document_refuses_the_request() {
        let e = parse_bulk(
            b"{\"index\":{}}\n{\"message\":\"a\"}\nnot json\n",
            None,
            "",
            0,
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse_bulk(b"{\"index\":{}}\n", None, "", 0, &Limits::default()).unwrap_err();
        assert!(e.message.contains("no document line"), "{e}");
        let e = parse_bulk(b"{\"upsert\":{}}\n{}\n", None, "", 0, &Limits::default()).unwrap_err();
        assert!(e.message.contains("unknown action"), "{e}");
        let b = parse_bulk(
            b"{\"index\":{}}\n{\"message\":\"a\"}\n",
            None,
            "",
            0,
            &Limits::default(),
        )
        .unwrap();
        assert!(matches!(
            b.items[0].outcome,
            Outcome::Refused(400, "action_request_validation_exception", _)
        ));
    }
}
