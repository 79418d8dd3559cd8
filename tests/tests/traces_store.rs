//! The span store through the running portal (#17): retention by age and by size drops
//! whole blocks (their traces leave the search, the trace API and the services and RED
//! tables), and Explore → Traces's `>`, `<`, `!=` and exists filters find a match however
//! many newer traces precede it, and a correlation id with quotes and backslashes, written
//! as a log line's "traces" link writes it, finds exactly its request; two traces compare
//! through `/api/v1/traces/compare` with the compare page's figures. The portal's own
//! spans are sent elsewhere here (a closed OTLP port), so the store holds only what a test
//! pushed.

use std::path::Path;
use std::time::Duration;

use e2e::api::Client;
use e2e::portal::Portal;
use e2e::spans::{push, TestSpan};
use serde_json::Value;

const HOUR_NS: i64 = 3_600 * 1_000_000_000;

fn now_ns() -> i64 {
    (e2e::now_seconds() * 1e9) as i64
}

/// One server span, the root of trace `trace`, 5 ms long, with string attributes.
fn span(trace: u64, start: i64, attrs: &[(&str, String)]) -> TestSpan {
    TestSpan {
        trace_id: format!("{trace:032x}"),
        span_id: format!("{trace:016x}"),
        name: "GET /api/tasks".into(),
        kind: 2,
        start_ns: start,
        duration_ms: 5,
        attributes: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        ..Default::default()
    }
}

/// The span store's block files: each block's id and file size.
fn block_files(data_dir: &Path) -> Vec<(u64, u64)> {
    let mut found = Vec::new();
    let mut dirs = vec![data_dir.join("traces")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "blk") {
                let id = p
                    .file_stem()
                    .and_then(|s| u64::from_str_radix(&s.to_string_lossy(), 16).ok());
                let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                found.extend(id.map(|id| (id, len)));
            }
        }
    }
    found
}

/// The span store's block files: how many, their total size, the newest block's id.
fn blocks(data_dir: &Path) -> (usize, u64, Option<u64>) {
    let files = block_files(data_dir);
    (
        files.len(),
        files.iter().map(|f| f.1).sum(),
        files.iter().map(|f| f.0).max(),
    )
}

/// Waits (maintenance runs every 5 s) until a block newer than `newest` was cut; its id.
async fn next_block(portal: &Portal, newest: Option<u64>) -> Option<u64> {
    let dir = portal.data_dir.path().to_owned();
    e2e::eventually(Duration::from_secs(30), "the head cut into a block", || {
        let dir = dir.clone();
        async move {
            let now = blocks(&dir).2;
            (now > newest).then_some(now)
        }
    })
    .await
}

fn portal_env(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        // The portal's own spans go to a closed port, not into the store under test.
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"),
    ];
    env.extend_from_slice(extra);
    env
}

async fn status_of(admin: &Client, path: &str) -> u16 {
    admin.get(path).await.0.as_u16()
}

/// Trace ids a `/api/v1/traces/search` over `[from, to]` (Unix seconds) finds.
async fn search_ids(admin: &Client, service: &str, from: i64, to: i64) -> Vec<String> {
    let (s, body) = admin
        .get(&format!(
            "/api/v1/traces/search?service={service}&from={from}&to={to}&limit=1000"
        ))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["partial"], false, "{body}");
    body["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Trace ids `/api/v1/traces/explore?<params>&filters=<filters>` finds (the filters
/// form-encoded here), newest first, with the answer.
async fn explore_ids(admin: &Client, params: &str, filters: &str) -> (Vec<String>, Value) {
    let q: String = url::form_urlencoded::byte_serialize(filters.as_bytes()).collect();
    let (s, v) = admin
        .get(&format!("/api/v1/traces/explore?{params}&filters={q}"))
        .await;
    assert_eq!(s, 200, "{v}");
    let ids = v["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap().to_owned())
        .collect();
    (ids, v)
}

/// The services of `/jaeger/api/services`.
async fn services(admin: &Client) -> Vec<String> {
    let (s, body) = admin.get("/jaeger/api/services").await;
    assert_eq!(s, 200, "{body}");
    serde_json::from_value(body["data"].clone()).unwrap_or_default()
}

/// Requests of `service` in the RED table over `[from, to]` (Unix seconds).
async fn red_requests(admin: &Client, from: i64, to: i64) -> u64 {
    let (s, body) = admin
        .get(&format!("/api/v1/traces/red?from={from}&to={to}&step=60s"))
        .await;
    assert_eq!(s, 200, "{body}");
    body["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["total"]["requests"].as_u64().unwrap_or(0))
        .sum()
}

#[tokio::test]
async fn retention_by_age_drops_whole_old_blocks_with_their_summaries_services_and_red() {
    let portal = Portal::start_with(&portal_env(&[("KEIKO_TRACES_RETENTION_DAYS", "1")])).await;
    let admin = portal.admin();
    let dir = portal.data_dir.path().to_owned();
    // Spans a little short of the one-day retention, in the last nanosecond of their
    // minute (the RED table counts whole minutes): the head holding them is cut at the
    // next check (its oldest span is past the two-hour head age), and the block expires
    // 45 to 105 s on — time enough, on a loaded two-core machine, to find them first.
    const MINUTE_NS: i64 = 60_000_000_000;
    let soon = now_ns() - 24 * HOUR_NS + 45_000_000_000;
    let old = (soon / MINUTE_NS + 1) * MINUTE_NS - 21;
    let old_spans: Vec<TestSpan> = (1..=20).map(|i| span(i, old + i as i64, &[])).collect();
    push(&admin, "retired-svc", &old_spans).await;
    let old_s = old / 1_000_000_000;
    assert_eq!(
        search_ids(&admin, "retired-svc", old_s - 60, old_s + 60)
            .await
            .len(),
        20
    );
    assert_eq!(
        status_of(&admin, &format!("/api/v1/traces/{:032x}", 1)).await,
        200
    );
    assert!(red_requests(&admin, old_s - 60, old_s + 60).await >= 20);
    assert!(services(&admin).await.contains(&"retired-svc".to_owned()));
    // Once the old spans are a block of their own, a fresh span arrives: it must outlive
    // the drop.
    let old_block = next_block(&portal, None).await.expect("a block id");
    let fresh = now_ns();
    let fresh_s = fresh / 1_000_000_000;
    push(&admin, "kept-svc", &[span(100, fresh, &[])]).await;
    assert_eq!(
        status_of(&admin, &format!("/api/v1/traces/{:032x}", 100)).await,
        200
    );

    // The old block is dropped whole: nothing of it is found any more.
    e2e::eventually(Duration::from_secs(180), "the old trace gone", || {
        let admin = admin.clone();
        async move {
            (status_of(&admin, &format!("/api/v1/traces/{:032x}", 1)).await == 404).then_some(())
        }
    })
    .await;
    assert!(
        block_files(&dir).iter().all(|f| f.0 != old_block),
        "the expired block's file is removed"
    );
    assert!(search_ids(&admin, "retired-svc", old_s - 60, old_s + 60)
        .await
        .is_empty());
    let (s, jaeger) = admin.get(&format!("/jaeger/api/traces/{:032x}", 20)).await;
    assert_eq!(s, 404, "{jaeger}");
    // The services table is rebuilt and the RED minutes of the dropped block are pruned.
    e2e::eventually(Duration::from_secs(30), "the services table rebuilt", || {
        let admin = admin.clone();
        async move { (!services(&admin).await.contains(&"retired-svc".to_owned())).then_some(()) }
    })
    .await;
    assert_eq!(red_requests(&admin, old_s - 60, old_s + 60).await, 0);

    // The fresh span, pushed before the drop, survived it.
    assert_eq!(
        status_of(&admin, &format!("/api/v1/traces/{:032x}", 100)).await,
        200
    );
    assert_eq!(
        search_ids(&admin, "kept-svc", fresh_s - 60, fresh_s + 60).await,
        [format!("{:032x}", 100)]
    );
    assert!(services(&admin).await.contains(&"kept-svc".to_owned()));
}

#[tokio::test]
async fn retention_by_size_drops_the_oldest_blocks_first() {
    const LIMIT: u64 = 600_000;
    let portal =
        Portal::start_with(&portal_env(&[("KEIKO_TRACES_RETENTION_BYTES", "600000")])).await;
    let admin = portal.admin();
    // Three blocks of about 200 KB (hex noise compresses to about half), five, four and
    // three hours old: each is cut at the first check after its push.
    let mut noise = 0x9e37_79b9_7f4a_7c15_u64;
    let mut filler = || {
        (0..128)
            .map(|_| {
                noise ^= noise << 13;
                noise ^= noise >> 7;
                noise ^= noise << 17;
                format!("{noise:016x}")
            })
            .collect::<String>()
    };
    let mut starts = Vec::new();
    let mut newest = None;
    for (batch, hours) in [(0u64, 5i64), (1, 4), (2, 3)] {
        let t = now_ns() - hours * HOUR_NS;
        starts.push(t / 1_000_000_000);
        let spans: Vec<TestSpan> = (0..200u64)
            .map(|i| {
                let id = batch * 1_000 + i + 1;
                span(id, t + i as i64, &[("payload", filler())])
            })
            .collect();
        push(&admin, &format!("batch-{batch}"), &spans).await;
        newest = next_block(&portal, newest).await;
    }
    // The oldest block went first, the newest stayed, and what is left fits the limit.
    let gone = format!("/api/v1/traces/{:032x}", 1);
    e2e::eventually(Duration::from_secs(30), "the oldest block dropped", || {
        let admin = admin.clone();
        let gone = gone.clone();
        async move { (status_of(&admin, &gone).await == 404).then_some(()) }
    })
    .await;
    let (n, bytes, _) = blocks(portal.data_dir.path());
    assert!(n < 3 && bytes <= LIMIT, "{n} blocks, {bytes} bytes");
    assert!(
        search_ids(&admin, "batch-0", starts[0] - 60, starts[0] + 60)
            .await
            .is_empty()
    );
    assert_eq!(
        status_of(&admin, &format!("/api/v1/traces/{:032x}", 2_001)).await,
        200
    );
    assert_eq!(
        search_ids(&admin, "batch-2", starts[2] - 60, starts[2] + 60)
            .await
            .len(),
        200
    );
    assert_eq!(
        red_requests(&admin, starts[0] - 60, starts[0] + 60).await,
        0
    );
    e2e::eventually(
        Duration::from_secs(20),
        "the services table rebuilt",
        || {
            let admin = admin.clone();
            async move {
                let s = services(&admin).await;
                (!s.contains(&"batch-0".to_owned()) && s.contains(&"batch-2".to_owned()))
                    .then_some(())
            }
        },
    )
    .await;
}

#[tokio::test]
async fn comparison_filters_find_a_match_behind_more_than_500_newer_traces() {
    let portal = Portal::start_with(&portal_env(&[])).await;
    let admin = portal.admin();
    // 700 traces; the oldest alone failed and alone was retried.
    let t0 = now_ns() - 600 * 1_000_000_000;
    let spans: Vec<TestSpan> = (1..=700u64)
        .map(|i| {
            let status = if i == 1 { "503" } else { "200" };
            let mut attrs = vec![("http.status_code", status.to_owned())];
            if i == 1 {
                attrs.push(("retry.count", "2".to_owned()));
            }
            span(i, t0 + i as i64 * 1_000_000, &attrs)
        })
        .collect();
    push(&admin, "busy-api", &spans).await;
    let from = t0 / 1_000_000_000 - 60;
    for filters in [
        "http.status_code>499",
        "retry.count",
        "http.status_code!=200",
    ] {
        let params = format!("service=busy-api&from={from}&to=now");
        let (ids, v) = explore_ids(&admin, &params, filters).await;
        assert_eq!(ids, vec![format!("{:032x}", 1)], "{filters}: {v}");
        assert_eq!(v["partial"], false, "{v}");
    }
    // `<` keeps the 699 successes; the first page holds the newest.
    let q: String = url::form_urlencoded::byte_serialize(b"http.status_code<300").collect();
    let (_, v) = admin
        .get(&format!(
            "/api/v1/traces/explore?service=busy-api&filters={q}&from={from}&to=now&limit=500"
        ))
        .await;
    assert_eq!(v["traces"].as_array().unwrap().len(), 500, "{v}");
    assert_eq!(v["traces"][0]["trace_id"], format!("{:032x}", 700));
}

#[tokio::test]
async fn a_correlation_id_filter_with_a_quote_finds_exactly_its_request() {
    let portal = Portal::start_with(&portal_env(&[])).await;
    let admin = portal.admin();
    let t0 = now_ns() - 60 * 1_000_000_000;
    // Ids that a dropped quote or backslash would confuse with one another.
    let ids = [r#"req "7""#, "req 7", r"req \7", "req7"];
    let spans: Vec<TestSpan> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let n = i as u64 + 1;
            span(n, t0 + n as i64, &[("correlation_id", id.to_string())])
        })
        .collect();
    push(&admin, "quoting-api", &spans).await;
    let from = t0 / 1_000_000_000 - 60;
    // As a log line's "traces" link writes them: quoted, `\` before a quote or a backslash.
    for (n, filters) in [
        (1, r#"correlation_id="req \"7\"""#),
        (2, r#"correlation_id="req 7""#),
        (3, r#"correlation_id="req \\7""#),
        (4, "correlation_id=req7"),
    ] {
        let (found, v) = explore_ids(&admin, &format!("from={from}&to=now"), filters).await;
        assert_eq!(found, vec![format!("{n:032x}")], "{filters}: {v}");
    }
}

/// A span of trace `trace` (`n`: its span id), `start_ms` after `t0`, `ms` long.
fn child(
    trace: &str,
    n: u64,
    parent: u64,
    name: &str,
    t0: i64,
    start_ms: i64,
    ms: i64,
) -> TestSpan {
    TestSpan {
        trace_id: trace.into(),
        span_id: format!("{n:016x}"),
        parent: if parent == 0 {
            String::new()
        } else {
            format!("{parent:016x}")
        },
        name: name.into(),
        kind: if parent == 0 { 2 } else { 3 },
        start_ns: t0 + start_ms * 1_000_000,
        duration_ms: ms,
        ..Default::default()
    }
}

/// `[service, operation, spans A, spans B, self A ms, self B ms, change ms]` of each row.
fn compare_rows(v: &Value) -> Vec<Value> {
    let ms = |x: &Value| x.as_i64().map(|ns| serde_json::json!(ns / 1_000_000));
    v["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {v}"))
        .iter()
        .map(|r| {
            serde_json::json!([
                r["service"],
                r["operation"],
                r["a"]["spans"],
                r["b"]["spans"],
                ms(&r["a"]["self_ns"]),
                ms(&r["b"]["self_ns"]),
                ms(&r["delta_ns"]),
            ])
        })
        .collect()
}

#[tokio::test]
async fn two_otlp_traces_compare_by_self_time_per_service_and_operation() {
    let portal = Portal::start_with(&portal_env(&[])).await;
    let admin = portal.admin();
    let t0 = now_ns() - 60_000_000_000;
    let (a, b) = (
        "0c0ffee00000000000000000000000a1",
        "0c0ffee00000000000000000000000b2",
    );
    // A: checkout 100 ms calling the database for 50 ms. B: checkout 300 ms, the database
    // 250 ms, then the cache 10 ms.
    push(&admin, "shop", &[child(a, 1, 0, "checkout", t0, 0, 100)]).await;
    push(&admin, "pg", &[child(a, 2, 1, "SELECT orders", t0, 10, 50)]).await;
    push(
        &admin,
        "shop",
        &[
            child(b, 1, 0, "checkout", t0 + 1_000_000_000, 0, 300),
            child(b, 3, 1, "cache get", t0 + 1_000_000_000, 270, 10),
        ],
    )
    .await;
    push(
        &admin,
        "pg",
        &[child(b, 2, 1, "SELECT orders", t0 + 1_000_000_000, 10, 250)],
    )
    .await;

    let viewer = portal.user_with_role("vera", "Viewer").await;
    let (s, v) = viewer
        .get(&format!("/api/v1/traces/compare?a={a}&b={b}"))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["a"]["trace_id"], a, "{v}");
    assert_eq!(v["a"]["root_service"], "shop");
    assert_eq!(v["a"]["root_operation"], "checkout");
    assert_eq!(v["a"]["duration_ns"], 100_000_000);
    assert_eq!(v["a"]["span_count"], 2);
    assert_eq!(v["b"]["duration_ns"], 300_000_000);
    assert_eq!(v["b"]["span_count"], 3);
    assert_eq!(v["delta_ns"], 200_000_000);
    // Largest change first; the cache is only in B.
    assert_eq!(
        compare_rows(&v),
        vec![
            serde_json::json!(["pg", "SELECT orders", 1, 1, 50, 250, 200]),
            serde_json::json!(["shop", "cache get", null, 1, null, 10, 10]),
            serde_json::json!(["shop", "checkout", 1, 1, 50, 40, -10]),
        ],
        "{v}"
    );
    assert_eq!(v["rows"][1]["a"], Value::Null);

    // Bad ids name their parameter; an unknown trace is a 404.
    for (query, field) in [
        (format!("a=xyz&b={b}"), "a"),
        (format!("a={a}"), "b"),
        (format!("a={a}&b={}", "0".repeat(32)), "b"),
    ] {
        let (s, e) = viewer.get(&format!("/api/v1/traces/compare?{query}")).await;
        assert_eq!(s, 400, "{query}: {e}");
        assert_eq!(e["error"]["field"], field, "{query}: {e}");
    }
    let unknown = "0c0ffee00000000000000000000000ff";
    let (s, e) = viewer
        .get(&format!("/api/v1/traces/compare?a={a}&b={unknown}"))
        .await;
    assert_eq!(s, 404, "{e}");
    assert!(e.to_string().contains(unknown), "{e}");
}
