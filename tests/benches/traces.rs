//! The embedded span store through the release portal: OTLP/HTTP protobuf ingest (spans/s,
//! and spans per CPU-second of the portal process — "per core" on a shared machine), then a trace by id, a search by service + attribute + duration and the
//! service map over the whole range, end to end over HTTP (p50/p99): first just after the
//! ingest, then again once maintenance has cut what was due into blocks.
//!
//! Run: `scripts/bench_traces.sh` (builds the release portal and points `KEIKO_BIN` at it).
//! Environment: `BENCH_SPANS` (default 1,000,000), `BENCH_BATCH` (spans per request, 1,000),
//! `BENCH_IN_FLIGHT` (requests at once, 4), `BENCH_RUNS` (timed reads per query, 200),
//! `BENCH_MAP_RUNS` (timed service maps, 50), `BENCH_SPANS_DUMP` (a directory: the same
//! spans as flat JSON, `spans.ndjson`, and the trace ids read, `ids.txt`, for the
//! ClickHouse peer of `scripts/bench_traces_peers.py`).
//!
//! Spans are shaped as the seed's tracing chapter makes them: a trace is one
//! `agent_task_execution` of service `keiko-agent` (agent.id, task.type, task.priority,
//! task.status, task.result_size) with nine MCP calls to one of four MCP servers
//! (mcp.server, mcp.tool), one task in twenty failing, spread over the last 24 h.

use std::time::{Duration, Instant};

use e2e::portal::Portal;
use prost::Message;
use serde_json::Value;

/// OTLP's trace messages, as much of them as the bench sends (field numbers from
/// opentelemetry-proto's `trace.proto` and `common.proto`).
mod otlp {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ExportTraceServiceRequest {
        #[prost(message, repeated, tag = "1")]
        pub resource_spans: Vec<ResourceSpans>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ResourceSpans {
        #[prost(message, optional, tag = "1")]
        pub resource: Option<Resource>,
        #[prost(message, repeated, tag = "2")]
        pub scope_spans: Vec<ScopeSpans>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Resource {
        #[prost(message, repeated, tag = "1")]
        pub attributes: Vec<KeyValue>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ScopeSpans {
        #[prost(message, repeated, tag = "2")]
        pub spans: Vec<Span>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Span {
        #[prost(bytes = "vec", tag = "1")]
        pub trace_id: Vec<u8>,
        #[prost(bytes = "vec", tag = "2")]
        pub span_id: Vec<u8>,
        #[prost(bytes = "vec", tag = "4")]
        pub parent_span_id: Vec<u8>,
        #[prost(string, tag = "5")]
        pub name: String,
        #[prost(int32, tag = "6")]
        pub kind: i32,
        #[prost(fixed64, tag = "7")]
        pub start_time_unix_nano: u64,
        #[prost(fixed64, tag = "8")]
        pub end_time_unix_nano: u64,
        #[prost(message, repeated, tag = "9")]
        pub attributes: Vec<KeyValue>,
        #[prost(message, optional, tag = "15")]
        pub status: Option<Status>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Status {
        #[prost(string, tag = "2")]
        pub message: String,
        #[prost(int32, tag = "3")]
        pub code: i32,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct KeyValue {
        #[prost(string, tag = "1")]
        pub key: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<AnyValue>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AnyValue {
        #[prost(oneof = "Value", tags = "1, 3")]
        pub value: Option<Value>,
    }
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        #[prost(string, tag = "1")]
        String(String),
        #[prost(int64, tag = "3")]
        Int(i64),
    }
}

const SPANS_PER_TRACE: u64 = 10;
const MCP_SERVERS: [&str; 4] = ["mcp-filesystem", "mcp-github", "mcp-search", "mcp-slack"];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn text(key: &str, value: &str) -> otlp::KeyValue {
    otlp::KeyValue {
        key: key.into(),
        value: Some(otlp::AnyValue {
            value: Some(otlp::Value::String(value.into())),
        }),
    }
}

fn int(key: &str, value: i64) -> otlp::KeyValue {
    otlp::KeyValue {
        key: key.into(),
        value: Some(otlp::AnyValue {
            value: Some(otlp::Value::Int(value)),
        }),
    }
}

/// Trace `n` (1-based) as 16 id bytes.
fn trace_id(n: u64) -> Vec<u8> {
    let mut id = vec![0u8; 16];
    id[0] = 0x4b;
    id[8..].copy_from_slice(&n.to_be_bytes());
    id
}

fn trace_hex(n: u64) -> String {
    hex(&trace_id(n))
}

/// The spans of trace `n`, per service, starting at `start` ns.
fn trace(n: u64, start: u64) -> Vec<(String, otlp::Span)> {
    let failed = n.is_multiple_of(20);
    let root_id = (n * SPANS_PER_TRACE).to_be_bytes().to_vec();
    let mut spans = vec![(
        "keiko-agent".to_owned(),
        otlp::Span {
            trace_id: trace_id(n),
            span_id: root_id.clone(),
            name: "agent_task_execution".into(),
            kind: 2,
            start_time_unix_nano: start,
            end_time_unix_nano: start + 200_000_000 + (n % 50) * 4_000_000,
            attributes: vec![
                text("agent.id", &format!("agent-{}", n % 100)),
                text(
                    "task.type",
                    ["analysis", "summary", "triage"][(n % 3) as usize],
                ),
                text(
                    "task.priority",
                    if n.is_multiple_of(7) {
                        "high"
                    } else {
                        "normal"
                    },
                ),
                text("task.status", if failed { "failed" } else { "completed" }),
                int("task.result_size", (n % 4096) as i64),
            ],
            status: failed.then(|| otlp::Status {
                message: "TimeoutError".into(),
                code: 2,
            }),
            ..Default::default()
        },
    )];
    for i in 1..SPANS_PER_TRACE {
        let server = MCP_SERVERS[((n + i) % 4) as usize];
        let at = start + i * 15_000_000;
        spans.push((
            server.to_owned(),
            otlp::Span {
                trace_id: trace_id(n),
                span_id: (n * SPANS_PER_TRACE + i).to_be_bytes().to_vec(),
                parent_span_id: root_id.clone(),
                name: format!(
                    "tools/call {}",
                    ["read_file", "search", "post"][(i % 3) as usize]
                ),
                kind: 2,
                start_time_unix_nano: at,
                end_time_unix_nano: at + 5_000_000 + (n % 10) * 1_000_000,
                attributes: vec![
                    text("mcp.server", server),
                    text(
                        "mcp.tool",
                        ["read_file", "search", "post"][(i % 3) as usize],
                    ),
                ],
                status: (failed && i == 1).then(|| otlp::Status {
                    message: "server did not answer".into(),
                    code: 2,
                }),
            },
        ));
    }
    spans
}

/// One request body of the traces `first..first+count`, grouped by service.
fn body(first: u64, count: u64, t0: u64, spacing: u64) -> Vec<u8> {
    let mut by_service: std::collections::BTreeMap<String, Vec<otlp::Span>> = Default::default();
    for n in first..first + count {
        for (service, span) in trace(n, t0 + n * spacing) {
            by_service.entry(service).or_default().push(span);
        }
    }
    otlp::ExportTraceServiceRequest {
        resource_spans: by_service
            .into_iter()
            .map(|(service, spans)| otlp::ResourceSpans {
                resource: Some(otlp::Resource {
                    attributes: vec![text("service.name", &service)],
                }),
                scope_spans: vec![otlp::ScopeSpans { spans }],
            })
            .collect(),
    }
    .encode_to_vec()
}

/// The trace read by the `i`-th trace-by-id request (the warm-up's `i` included).
fn pick(i: usize, traces: u64) -> u64 {
    1 + (i as u64).wrapping_mul(7_919) % traces
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The spans the bench sends, one flat JSON object a line (`spans.ndjson`), and the trace
/// ids its timed trace-by-id reads ask for (`ids.txt`), for the peer in
/// `scripts/bench_traces_peers.py`.
fn dump(dir: &std::path::Path, traces: u64, t0: u64, spacing: u64, runs: usize) {
    use std::io::Write;
    std::fs::create_dir_all(dir).expect("dump dir");
    let file = std::fs::File::create(dir.join("spans.ndjson")).expect("spans.ndjson");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    for n in 1..=traces {
        for (service, span) in trace(n, t0 + n * spacing) {
            let (mut strings, mut numbers) = (serde_json::Map::new(), serde_json::Map::new());
            for kv in &span.attributes {
                match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(otlp::Value::String(s)) => {
                        strings.insert(kv.key.clone(), s.as_str().into());
                    }
                    Some(otlp::Value::Int(i)) => {
                        numbers.insert(kv.key.clone(), (*i).into());
                    }
                    None => {}
                }
            }
            let status = span.status.clone().unwrap_or_default();
            let line = serde_json::json!({
                "trace_id": hex(&span.trace_id),
                "span_id": hex(&span.span_id),
                "parent_span_id": hex(&span.parent_span_id),
                "service": service,
                "name": span.name,
                "kind": span.kind,
                "start_ns": span.start_time_unix_nano,
                "end_ns": span.end_time_unix_nano,
                "status_code": status.code,
                "status_message": status.message,
                "string_attrs": strings,
                "number_attrs": numbers,
            });
            writeln!(out, "{line}").expect("write spans.ndjson");
        }
    }
    out.flush().expect("flush spans.ndjson");
    let ids: Vec<String> = (0..runs).map(|i| trace_hex(pick(i, traces))).collect();
    std::fs::write(dir.join("ids.txt"), ids.join("\n") + "\n").expect("ids.txt");
    println!(
        "dump: {} spans to {}",
        traces * SPANS_PER_TRACE,
        dir.display()
    );
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// What `timed` measured: p50 and p99 in ms over the timed requests (a refused one counts
/// with the time it took), how many requests were made (the warm-up included) and the
/// statuses of those the portal refused.
struct Timing {
    p50: f64,
    p99: f64,
    made: usize,
    refused: Vec<u16>,
}

/// After this many refusals (the portal's 30 s request timeout, say) a query stops being
/// timed, so a slow case cannot hold the bench for runs × 30 s.
const MAX_REFUSED: usize = 3;

/// `runs` GETs of the paths `path(i)`, after one warm-up; an answer other than 200 is
/// recorded as refused, not fatal.
async fn timed(
    client: &e2e::api::Client,
    runs: usize,
    path: impl Fn(usize) -> String,
    check: impl Fn(&Value),
) -> Timing {
    let mut times = Vec::with_capacity(runs + 1);
    let mut refused = Vec::new();
    for i in std::iter::once(usize::MAX / 2).chain(0..runs) {
        let started = Instant::now();
        let (s, body) = client.get(&path(i)).await;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        if s != 200 {
            println!("  refused after {ms:.0} ms: {s} {body}");
            refused.push(s.as_u16());
        } else {
            check(&body);
        }
        // The warm-up is not timed.
        if i != usize::MAX / 2 {
            times.push(ms);
        }
        if refused.len() >= MAX_REFUSED {
            break;
        }
    }
    let made = times.len() + 1;
    times.sort_by(f64::total_cmp);
    if times.is_empty() {
        times.push(f64::NAN);
    }
    Timing {
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
        made,
        refused,
    }
}

#[tokio::main]
async fn main() {
    let spans: u64 = env_or("BENCH_SPANS", 1_000_000);
    let batch: u64 = env_or("BENCH_BATCH", 1_000);
    let in_flight: usize = env_or("BENCH_IN_FLIGHT", 4);
    let runs: usize = env_or("BENCH_RUNS", 200);
    let map_runs: usize = env_or("BENCH_MAP_RUNS", 50);
    let traces = (spans / SPANS_PER_TRACE).max(1);
    let per_request = (batch / SPANS_PER_TRACE).max(1);
    let now = (e2e::now_seconds() * 1e9) as u64;
    let t0 = now - 24 * 3_600_000_000_000;
    let spacing = 24 * 3_600_000_000_000 / traces;

    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "keiko-portal {}, {cores} cores; {} spans in {} traces, {} spans per OTLP/HTTP protobuf request, {in_flight} in flight",
        e2e::portal::binary().display(),
        traces * SPANS_PER_TRACE,
        traces,
        per_request * SPANS_PER_TRACE
    );

    // Bodies are encoded before the clock starts: the figure is the portal's.
    let bodies: Vec<Vec<u8>> = (0..traces.div_ceil(per_request))
        .map(|r| {
            let first = 1 + r * per_request;
            body(first, per_request.min(traces + 1 - first), t0, spacing)
        })
        .collect();
    if let Ok(dir) = std::env::var("BENCH_SPANS_DUMP") {
        dump(std::path::Path::new(&dir), traces, t0, spacing, runs);
    }
    let pid = portal.pid();
    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    let queue = std::sync::Arc::new(tokio::sync::Mutex::new(bodies.into_iter()));
    let mut senders = Vec::new();
    for _ in 0..in_flight {
        let (queue, client) = (queue.clone(), portal.admin());
        senders.push(tokio::spawn(async move {
            loop {
                let Some(body) = queue.lock().await.next() else {
                    return;
                };
                let r = client
                    .request(reqwest::Method::POST, "/v1/traces")
                    .header("content-type", "application/x-protobuf")
                    .body(body)
                    .timeout(Duration::from_secs(60))
                    .send()
                    .await
                    .expect("push");
                assert_eq!(r.status(), 200, "{:?}", r.text().await);
            }
        }));
    }
    for s in senders {
        s.await.unwrap();
    }
    let took = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_before;
    let sent = (traces * SPANS_PER_TRACE) as f64;
    let rate = sent / took;
    println!(
        "| OTLP ingest | {rate:.0} spans/s wall ({:.0} per core of {cores}), {took:.1} s; portal CPU {cpu:.2} s = {:.0} spans per portal CPU-second |",
        rate / cores as f64,
        sent / cpu
    );

    let cpu_reads = cpu_seconds(pid);
    reads(&admin, (runs, map_runs), traces, "just written").await;
    let cpu_reads = cpu_seconds(pid) - cpu_reads;
    // Maintenance (every 5 s) cuts the head whenever it is due: at `max_block_rows`, at
    // `max_head_bytes` or once its oldest span is two hours old, so most of a fast ingest of
    // old spans is in blocks already. Wait up to 90 s for the rest; a young remainder stays
    // in the head (the WAL figure below says how much).
    let wal = portal.data_path().join("traces").join("wal");
    let blocks = portal.data_path().join("traces").join("blocks");
    let cut_wait = Instant::now();
    while cut_wait.elapsed() < Duration::from_secs(90)
        && !(walk(&blocks) > 0 && walk(&wal) < (1 << 20))
    {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    println!(
        "(after {:.0} s of maintenance: {} MB in blocks, {} MB of WAL behind the head)",
        cut_wait.elapsed().as_secs_f64(),
        walk(&blocks) >> 20,
        walk(&wal) >> 20
    );
    // The head cuts belong to the ingest's cost: the portal's CPU from the first push until
    // maintenance has cut what it was due to cut, less the reads in between (idle
    // background work such as the portal's own spans is counted, so this errs high).
    let cpu_cut = cpu_seconds(pid) - cpu_before - cpu_reads;
    println!(
        "| OTLP ingest with its head cuts | portal CPU {cpu_cut:.2} s = {:.0} spans per portal CPU-second ({} MB of WAL left in the head, not cut) |",
        sent / cpu_cut,
        walk(&wal) >> 20
    );
    reads(&admin, (runs, map_runs), traces, "after maintenance").await;
    let data = portal.data_path().join("traces");
    let bytes: u64 = walk(&data);
    println!(
        "| on disk (WAL and blocks) | {:.1} bytes per span |",
        bytes as f64 / (traces * SPANS_PER_TRACE) as f64
    );
}

/// The timed reads: a trace by id, a search, the service map; `when` names the store's
/// state (head only, or blocks).
async fn reads(
    admin: &e2e::api::Client,
    (runs, map_runs): (usize, usize),
    traces: u64,
    when: &str,
) {
    let range = "from=now-25h&to=now";
    let report = |name: &str, t: Timing| {
        let refused = if t.refused.is_empty() {
            String::new()
        } else {
            format!(
                "; {} of {} refused ({:?}){}",
                t.refused.len(),
                t.made,
                t.refused,
                if t.refused.len() >= MAX_REFUSED {
                    ", stopped"
                } else {
                    ""
                }
            )
        };
        println!(
            "| {name} ({when}) | p50 {:.2} ms, p99 {:.2} ms{refused} |",
            t.p50, t.p99
        );
    };
    let pick = |i: usize| pick(i, traces);
    report(
        "trace by id (10 spans)",
        timed(
            admin,
            runs,
            |i| format!("/api/v1/traces/{}", trace_hex(pick(i))),
            |b| {
                assert_eq!(
                    b["spans"].as_array().map(Vec::len),
                    Some(SPANS_PER_TRACE as usize),
                    "{b}"
                );
            },
        )
        .await,
    );
    report(
        "search: service + attribute + duration, 20 traces",
        timed(
            admin,
            runs.min(50),
            |i| {
                format!(
                    "/api/v1/traces/search?service=keiko-agent&tags=task.type%3D{}&minDuration=300ms&limit=20&{range}",
                    ["analysis", "summary", "triage"][i % 3]
                )
            },
            |b| assert!(!b["traces"].as_array().unwrap().is_empty(), "{b}"),
        )
        .await,
    );
    report(
        "service map over 24 h",
        timed(
            admin,
            map_runs.max(1),
            |_| format!("/api/v1/services/map?{range}"),
            |b| {
                assert_eq!(b["edges"].as_array().map(Vec::len), Some(4), "{b}");
            },
        )
        .await,
    );
}

/// CPU time (user + system, every thread) the process `pid` has used, in seconds: fields
/// 14 and 15 of `/proc/<pid>/stat`, in clock ticks of `USER_HZ`, which Linux fixes at 100
/// for this interface. Spans per CPU-second of the portal is the honest "per core" figure on
/// a shared machine, where wall-clock throughput depends on what else runs.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')').expect("stat has the command name") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    ticks as f64 / 100.0
}

fn walk(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
