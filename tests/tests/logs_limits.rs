//! Log ingest limits and retention (#16) through the running portal: configured limits on
//! line size, lines per request, fields per line, field names and a request's bytes
//! refuse what breaks them as each protocol defines (JSON lines and Loki whole, OTLP per
//! record in the partial success, Elasticsearch per item, Fluentd forward per entry,
//! dropped), naming the limit, counting it, storing nothing refused; and retention by age
//! and by size drops whole blocks, seen in query results, on disk and in `/metrics`
//! within a few maintenance runs (every 5 s).

use std::path::Path;
use std::time::Duration;

use e2e::api::Client;
use e2e::eventually;
use e2e::logs::{metric, otlp_json, search, OtlpRecord};
use e2e::portal::Portal;
use serde_json::{json, Value};

/// POSTs `body` with `content_type`; answers the status and the JSON answer.
async fn post(client: &Client, path: &str, content_type: &str, body: String) -> (u16, Value) {
    let (status, answer) = client.post_body(path, content_type, body).await;
    (status.as_u16(), answer)
}

/// A JSON line `seconds_ago` old with `extra` fields.
fn line(seconds_ago: f64, message: &str, correlation_id: &str, extra: usize) -> String {
    let mut o = json!({
        "timestamp": ((e2e::now_seconds() - seconds_ago) * 1e9) as u64,
        "level": "INFO",
        "message": message,
        "correlation_id": correlation_id,
    });
    for i in 0..extra {
        o[format!("extra_{i}")] = json!(i);
    }
    o.to_string()
}

fn lines(n: usize, message: &str, correlation_id: &str) -> String {
    (0..n)
        .map(|i| line(1.0, &format!("{message} {i}"), correlation_id, 0))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn refused(client: &Client, protocol: &str) -> f64 {
    metric(
        client,
        &format!(r#"keiko_log_lines_refused_total{{protocol="{protocol}",reason="limit"}}"#),
    )
    .await
}

/// Asserts a whole-request refusal by the limit `key`: a 4xx JSON error about the body
/// naming the limit (and the line, where given).
fn assert_refused_by(status: u16, answer: &Value, key: &str, expected: u16) {
    assert_eq!(status, expected, "{answer}");
    assert_eq!(answer["error"]["code"], "limit", "{answer}");
    assert_eq!(answer["error"]["field"], "body", "{answer}");
    assert_eq!(answer["error"]["limit"], key, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains(key), "{message}");
}

#[tokio::test]
async fn configured_ingest_limits_refuse_name_and_count_and_store_nothing_refused() {
    let port = e2e::free_port();
    let listen = format!("127.0.0.1:{port}");
    let portal = Portal::start_with(&[
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        ("KEIKO_FLUENT_FORWARD_LISTEN", &listen),
        ("KEIKO_LOGS_MAX_LINE_BYTES", "1024"),
        ("KEIKO_LOGS_MAX_LINES_PER_REQUEST", "5"),
        ("KEIKO_LOGS_MAX_FIELDS_PER_LINE", "6"),
        ("KEIKO_LOGS_MAX_FIELD_NAME_BYTES", "40"),
        ("KEIKO_LOGS_MAX_REQUEST_BYTES", "3000"),
    ])
    .await;
    let admin = portal.admin();
    let big = "x".repeat(2000);

    // JSON lines: the whole request is refused, naming the line and the limit; every line
    // of it counted.
    let body = format!(
        "{}\n{}",
        line(1.0, "fine", "refused-jsonl", 0),
        line(1.0, &big, "refused-jsonl", 0)
    );
    let (s, e) = post(&admin, "/api/v1/logs", "application/x-ndjson", body).await;
    assert_refused_by(s, &e, "logs_max_line_bytes", 400);
    assert_eq!(e["error"]["line"], 2, "{e}");
    let (s, e) = post(
        &admin,
        "/api/v1/logs",
        "application/x-ndjson",
        lines(6, "six", "refused-jsonl"),
    )
    .await;
    assert_refused_by(s, &e, "logs_max_lines_per_request", 400);
    assert_eq!(e["error"]["line"], 6, "{e}");
    let (s, e) = post(
        &admin,
        "/api/v1/logs",
        "application/x-ndjson",
        line(1.0, "wide", "refused-jsonl", 7),
    )
    .await;
    assert_refused_by(s, &e, "logs_max_fields_per_line", 400);
    assert!(
        e["error"]["message"].as_str().unwrap().contains("7 fields"),
        "{e}"
    );
    let mut named: Value = serde_json::from_str(&line(1.0, "named", "refused-jsonl", 0)).unwrap();
    named["f".repeat(41)] = json!(1);
    let (s, e) = post(
        &admin,
        "/api/v1/logs",
        "application/x-ndjson",
        named.to_string(),
    )
    .await;
    assert_refused_by(s, &e, "logs_max_field_name_bytes", 400);
    // Lines each within the limits, together over logs_max_request_bytes: the store
    // refuses the batch whole, naming the key.
    let heavy = (0..4)
        .map(|i| line(1.0, &format!("{i} {}", "y".repeat(850)), "refused-jsonl", 0))
        .collect::<Vec<_>>()
        .join("\n");
    let (s, e) = post(&admin, "/api/v1/logs", "application/x-ndjson", heavy).await;
    assert_refused_by(s, &e, "logs_max_request_bytes", 400);
    assert_eq!(refused(&admin, "jsonl").await, 14.0);
    // At the limits exactly, all is stored.
    let mut at_limits = vec![line(1.0, "six fields", "kept-jsonl", 6)];
    at_limits.extend((0..4).map(|i| line(1.0, &format!("kept {i}"), "kept-jsonl", 0)));
    let (s, a) = post(
        &admin,
        "/api/v1/logs",
        "application/x-ndjson",
        at_limits.join("\n"),
    )
    .await;
    assert_eq!((s, &a["accepted"]), (200, &json!(5)), "{a}");

    // OTLP: a record over the line size is refused in the partial success, the others are
    // stored; more records than a request may carry refuse it whole (413).
    let request = otlp_json(
        "limits",
        &[
            OtlpRecord::now("kept", "kept-otlp"),
            OtlpRecord::now(&big, "refused-otlp"),
            OtlpRecord::now("too wide", "refused-otlp").with_fields(6),
        ],
    );
    let (s, a) = post(&admin, "/v1/logs", "application/json", request.to_string()).await;
    assert_eq!(s, 200, "{a}");
    let partial = &a["partialSuccess"];
    assert_eq!(
        partial["rejectedLogRecords"].to_string().trim_matches('"'),
        "2",
        "{a}"
    );
    let message = partial["errorMessage"].as_str().unwrap();
    assert!(message.starts_with("log record 1: "), "{message}");
    assert!(message.contains("logs_max_line_bytes"), "{message}");
    let six: Vec<OtlpRecord> = (0..6)
        .map(|i| OtlpRecord::now(&format!("r{i}"), "refused-otlp"))
        .collect();
    let (s, e) = post(
        &admin,
        "/v1/logs",
        "application/json",
        otlp_json("limits", &six).to_string(),
    )
    .await;
    assert_refused_by(s, &e, "logs_max_lines_per_request", 413);
    assert_eq!(refused(&admin, "otlp").await, 3.0);

    // Loki: one entry over a limit refuses the push, naming the entry.
    let now_ns = ((e2e::now_seconds()) * 1e9) as u64;
    let loki = |values: Vec<Value>| {
        json!({"streams": [{"stream": {"job": "limits", "correlation_id": "refused-loki"},
            "values": values}]})
        .to_string()
    };
    let (s, e) = post(
        &admin,
        "/loki/api/v1/push",
        "application/json",
        loki(vec![
            json!([now_ns.to_string(), "ok"]),
            json!([now_ns.to_string(), big]),
        ]),
    )
    .await;
    assert_refused_by(s, &e, "logs_max_line_bytes", 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("entry 1: "),
        "{e}"
    );
    let (s, e) = post(
        &admin,
        "/loki/api/v1/push",
        "application/json",
        loki(
            (0..6)
                .map(|i| json!([now_ns.to_string(), format!("l{i}")]))
                .collect(),
        ),
    )
    .await;
    assert_refused_by(s, &e, "logs_max_lines_per_request", 413);
    assert_eq!(refused(&admin, "loki").await, 3.0);

    // Elasticsearch bulk: a document over a limit is refused as its item, as Elasticsearch
    // answers a mapping limit; too many actions refuse the request.
    let doc = |message: &str, extra: usize| {
        let mut d: Value = serde_json::from_str(&line(1.0, message, "es", extra)).unwrap();
        d["correlation_id"] = json!(if extra > 6 { "refused-es" } else { "kept-es" });
        format!("{{\"index\":{{}}}}\n{d}")
    };
    let body = [doc("kept", 0), doc("too wide", 9)].join("\n") + "\n";
    let (s, a) = post(&admin, "/logs-app/_bulk", "application/x-ndjson", body).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["errors"], true, "{a}");
    assert_eq!(a["items"][0]["index"]["status"], 201, "{a}");
    let item = &a["items"][1]["index"];
    assert_eq!(item["status"], 400, "{a}");
    assert_eq!(item["error"]["type"], "illegal_argument_exception", "{a}");
    assert!(
        item["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("logs_max_fields_per_line"),
        "{a}"
    );
    let body = (0..6)
        .map(|i| doc(&format!("d{i}"), 0))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let (s, e) = post(&admin, "/logs-app/_bulk", "application/x-ndjson", body).await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("logs_max_lines_per_request"),
        "{e}"
    );
    assert_eq!(refused(&admin, "elasticsearch").await, 2.0);

    // Fluentd forward (PyPI fluent-logger): an entry over a limit is dropped and counted,
    // the protocol having no per-entry error; the others are stored.
    let out = e2e::run_python(
        "fluent_forward_limits.py",
        &[("FLUENT_PORT", port.to_string())],
    )
    .await;
    assert_eq!(out.trim(), "ok");
    eventually(Duration::from_secs(10), "the forwarded lines", || {
        let admin = admin.clone();
        async move {
            let counted = refused(&admin, "fluent_forward").await == 1.0;
            let kept = search(&admin, "correlation_id:kept-forward", "now-1h").await;
            (counted && kept.len() == 1).then_some(())
        }
    })
    .await;

    // Nothing refused was stored; what was within the limits was.
    let stored = search(&admin, "correlation_id:refused-*", "now-1h").await;
    assert!(stored.is_empty(), "{stored:?}");
    let kept = |id: &'static str| {
        let admin = admin.clone();
        async move {
            search(&admin, &format!("correlation_id:{id}"), "now-1h")
                .await
                .len()
        }
    };
    assert_eq!(kept("kept-jsonl").await, 5);
    assert_eq!(kept("kept-otlp").await, 1);
    assert_eq!(kept("kept-es").await, 1);
}

/// The block files of the portal's log store and their total size.
fn blocks_on_disk(data_dir: &Path) -> (usize, u64) {
    let dir = data_dir.join("logs/blocks");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return (0, 0);
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok().filter(|m| m.is_file()))
        .fold((0, 0), |(n, bytes), m| (n + 1, bytes + m.len()))
}

/// Waits (up to 20 s: four maintenance runs) until `/metrics` shows `series` at `value`.
async fn wait_for_metric(admin: &Client, series: &'static str, value: f64) {
    eventually(Duration::from_secs(20), series, || {
        let admin = admin.clone();
        async move { (metric(&admin, series).await == value).then_some(()) }
    })
    .await;
}

/// A portal whose own lines stay out of the way: only warnings (and the `Listening` line
/// the tests wait for) reach its log store. Its startup lines are cut into a first block
/// by a line old enough to make the head due (2 h), so later blocks hold only the test's
/// lines.
async fn retention_portal(env: &[(&str, &str)]) -> Portal {
    let mut all = vec![
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        ("KEIKO_LOG_LEVEL", "warn,server=info"),
    ];
    all.extend_from_slice(env);
    let portal = Portal::start_with(&all).await;
    let admin = portal.admin();
    let (s, a) = admin
        .post_ndjson(
            "/api/v1/logs",
            line(3.0 * 3600.0, "first block", "first", 0),
        )
        .await;
    assert_eq!(s, 200, "{a}");
    wait_for_metric(&admin, "keiko_log_store_blocks", 1.0).await;
    portal
}

#[tokio::test]
async fn retention_by_age_drops_whole_old_blocks_from_queries_and_disk() {
    let portal = retention_portal(&[("KEIKO_LOGS_RETENTION_DAYS", "1")]).await;
    let admin = portal.admin();
    let (blocks, _) = blocks_on_disk(portal.data_path());
    assert_eq!(blocks, 1);

    // Lines 30 h old (the retention is 1 day) are stored and found while in the head …
    let old: Vec<String> = (0..20)
        .map(|i| line(30.0 * 3600.0 + f64::from(i), "ancient", "aged-out", 0))
        .collect();
    let (s, a) = admin.post_ndjson("/api/v1/logs", old.join("\n")).await;
    assert_eq!(s, 200, "{a}");
    let found = search(&admin, "correlation_id:aged-out", "now-2d").await;
    assert_eq!(found.len(), 20, "{found:?}");

    // … then cut into a block the next maintenance drops whole.
    wait_for_metric(&admin, "keiko_log_store_blocks_dropped_total", 1.0).await;
    let found = search(&admin, "correlation_id:aged-out", "now-2d").await;
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(metric(&admin, "keiko_log_store_blocks").await, 1.0);
    assert_eq!(blocks_on_disk(portal.data_path()).0, 1);
    // The first block, within the retention, stays.
    assert_eq!(
        search(&admin, "correlation_id:first", "now-1d").await.len(),
        1
    );
}

/// `n` lines of incompressible text (about 4 KiB each) `seconds_ago` old.
fn bulky(n: usize, seconds_ago: f64, correlation_id: &str, seed: u64) -> String {
    let mut x = seed | 1;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|i| {
            let text: String = (0..4096)
                .map(|_| {
                    // xorshift64: text zstd cannot squeeze below ~6 bits a character.
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    alphabet[(x % 62) as usize] as char
                })
                .collect();
            line(seconds_ago + i as f64, &text, correlation_id, 0)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn retention_by_size_drops_the_oldest_whole_blocks_until_the_store_fits() {
    const LIMIT: f64 = 200_000.0;
    let portal = retention_portal(&[
        ("KEIKO_LOGS_RETENTION_DAYS", "1"),
        ("KEIKO_LOGS_RETENTION_BYTES", "200000"),
    ])
    .await;
    let admin = portal.admin();

    // About 160 KiB of text 10 h old: one block, alone within the limit …
    let (s, a) = admin
        .post_ndjson("/api/v1/logs", bulky(40, 10.0 * 3600.0, "size-a", 7))
        .await;
    assert_eq!(s, 200, "{a}");
    wait_for_metric(&admin, "keiko_log_store_blocks", 2.0).await;
    let one = metric(&admin, "keiko_log_store_bytes").await;
    assert!(
        one > LIMIT / 2.0 && one <= LIMIT,
        "store bytes with one bulky block: {one}"
    );
    assert_eq!(
        search(&admin, "correlation_id:size-a", "now-1d")
            .await
            .len(),
        40
    );

    // … and as much 9 h old: two would not fit, so the older block goes, whole.
    let (s, a) = admin
        .post_ndjson("/api/v1/logs", bulky(40, 9.0 * 3600.0, "size-b", 11))
        .await;
    assert_eq!(s, 200, "{a}");
    wait_for_metric(&admin, "keiko_log_store_blocks_dropped_total", 1.0).await;
    assert!(search(&admin, "correlation_id:size-a", "now-1d")
        .await
        .is_empty());
    assert_eq!(
        search(&admin, "correlation_id:size-b", "now-1d")
            .await
            .len(),
        40
    );
    assert_eq!(
        search(&admin, "correlation_id:first", "now-1d").await.len(),
        1
    );
    assert_eq!(metric(&admin, "keiko_log_store_blocks").await, 2.0);
    let bytes = metric(&admin, "keiko_log_store_bytes").await;
    assert!(bytes <= LIMIT, "store bytes after retention: {bytes}");
    let (files, on_disk) = blocks_on_disk(portal.data_path());
    assert_eq!(files, 2);
    assert!(on_disk as f64 <= LIMIT, "block files: {on_disk} bytes");
}
