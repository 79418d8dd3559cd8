"""The span store benchmark's peer (issue #17), on the spans `tests/benches/traces.rs` sent
to the portal (written with BENCH_SPANS_DUMP): Debian's ClickHouse 18.16 (a server
scripts/bench_traces.sh started, over HTTP at CLICKHOUSE_URL) holding them in SigNoz-like
tables as SigNoz laid them out before ClickHouse had maps: `signoz_index_v2` (one row per
span, sorted by service, error, hour, name, time; tags as key and value arrays) and
`signoz_spans` (the span as JSON, sorted by trace id, which SigNoz reads a trace from).
Then the portal bench's reads, the same number of times: a trace by id (the same ids), the
search by service + attribute + duration over the last 25 h, newest 20 traces with their
summaries (root service and operation, start, duration, spans, errors), and the service
map over the last 25 h (calls, errors and p95 per caller → callee). The figures go to
stdout as table rows and to the results file as one JSON line.
Run by scripts/bench_traces.sh.

usage: bench_traces_peers.py SPANS_NDJSON IDS_TXT WORK_DIR RESULTS_JSONL
"""

import json
import math
import os
import re
import sys
import time

from clickhouse_http import ClickHouse

SEARCH_RUNS = 50
MAP_RUNS = int(os.environ.get("BENCH_MAP_RUNS", "50"))
TASK_TYPES = ["analysis", "summary", "triage"]
SPANS_PER_TRACE = 10
EDGES = 4


def percentiles(ms):
    # As the portal bench ranks them (tests/benches/traces.rs `percentile`).
    ms = sorted(ms)
    at = lambda p: ms[max(1, min(len(ms), math.ceil(len(ms) * p))) - 1]
    return [at(0.5), at(0.99)]


def timed(runs, f):
    f(runs // 2)  # one warm-up, as the portal bench does
    out = []
    for i in range(runs):
        t = time.perf_counter()
        f(i)
        out.append((time.perf_counter() - t) * 1000.0)
    return percentiles(out)


def convert(spans, out):
    """The dump's flat JSON as the rows SigNoz's exporter would send (tags as key and value
    arrays, the duration, the span itself as JSON), written once before the clock starts."""
    with open(spans, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        for line in src:
            r = json.loads(line)
            s, n = r["string_attrs"], r["number_attrs"]
            row = {
                "timestamp": r["start_ns"],
                "traceID": r["trace_id"],
                "spanID": r["span_id"],
                "parentSpanID": r["parent_span_id"],
                "serviceName": r["service"],
                "name": r["name"],
                "kind": r["kind"],
                "durationNano": r["end_ns"] - r["start_ns"],
                "statusCode": r["status_code"],
                "hasError": int(r["status_code"] == 2),
                "tagsKeys": list(s),
                "tagsValues": list(s.values()),
                "numberTagKeys": list(n),
                "numberTagValues": [float(v) for v in n.values()],
                "model": line.rstrip("\n"),
            }
            dst.write(json.dumps(row, separators=(",", ":")) + "\n")


def clickhouse(spans, ids, work):
    ch = ClickHouse(os.environ["CLICKHOUSE_URL"])
    rows_file = os.path.join(os.path.dirname(spans), "spans_clickhouse.ndjson")
    started = time.perf_counter()
    convert(spans, rows_file)
    print(f"peer: rows converted for ClickHouse in {time.perf_counter() - started:.1f} s (not timed)", flush=True)
    ch.query("CREATE DATABASE IF NOT EXISTS bench")
    ch.query("DROP TABLE IF EXISTS bench.signoz_index_v2")
    ch.query("DROP TABLE IF EXISTS bench.signoz_spans")
    # The columns these spans fill, with SigNoz's sort key. 18.16 has no DateTime64
    # (nanoseconds as UInt64), no Map (tag keys and values as arrays, as SigNoz's first
    # schema had them), no data-skipping indices (no bloom filter on the trace id, no
    # min/max on the duration) and no per-column codecs (the server writes zstd parts).
    hour = "toStartOfHour(toDateTime(intDiv(timestamp, 1000000000)))"
    day = "toDate(toDateTime(intDiv(timestamp, 1000000000)))"
    ch.query(
        f"""CREATE TABLE bench.signoz_index_v2 (
            timestamp UInt64,
            traceID FixedString(32),
            spanID String,
            parentSpanID String,
            serviceName String,
            name String,
            kind Int8,
            durationNano UInt64,
            statusCode Int16,
            hasError UInt8,
            tagsKeys Array(String),
            tagsValues Array(String),
            numberTagKeys Array(String),
            numberTagValues Array(Float64)
        ) ENGINE = MergeTree
        PARTITION BY {day}
        PRIMARY KEY (serviceName, hasError, {hour}, name)
        ORDER BY (serviceName, hasError, {hour}, name, timestamp)"""
    )
    ch.query(
        f"""CREATE TABLE bench.signoz_spans (
            timestamp UInt64,
            traceID FixedString(32),
            model String
        ) ENGINE = MergeTree
        PARTITION BY {day}
        ORDER BY traceID"""
    )
    name = os.path.basename(rows_file)
    index_structure = (
        "timestamp UInt64, traceID FixedString(32), spanID String, parentSpanID String, "
        "serviceName String, name String, kind Int8, durationNano UInt64, statusCode Int16, "
        "hasError UInt8, tagsKeys Array(String), tagsValues Array(String), "
        "numberTagKeys Array(String), numberTagValues Array(Float64)"
    )
    started = time.perf_counter()
    # One thread reads, parses and inserts (figures per core); both tables are filled from
    # the same rows, as SigNoz's exporter writes both.
    ch.query(
        f"""INSERT INTO bench.signoz_index_v2
            SELECT * FROM file('{name}', JSONEachRow, '{index_structure}')
            SETTINGS max_threads = 1, input_format_skip_unknown_fields = 1"""
    )
    ch.query(
        f"""INSERT INTO bench.signoz_spans
            SELECT * FROM file('{name}', JSONEachRow, 'timestamp UInt64, traceID FixedString(32), model String')
            SETTINGS max_threads = 1, input_format_skip_unknown_fields = 1"""
    )
    secs = time.perf_counter() - started
    os.remove(rows_file)
    n = int(ch.scalar("SELECT count() FROM bench.signoz_index_v2"))
    # Merges settle what is on disk (as they would in a running server).
    ch.query("OPTIMIZE TABLE bench.signoz_index_v2 FINAL")
    ch.query("OPTIMIZE TABLE bench.signoz_spans FINAL")
    size = {
        t: int(
            ch.scalar(
                f"SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'bench' AND table = '{t}' AND active"
            )
        )
        for t in ("signoz_index_v2", "signoz_spans")
    }

    # 18.16 has no query parameters: the ids (checked against [0-9a-f]{32} in main) and the
    # task types (constants) go into the SQL text.
    def by_id(i):
        rows = ch.rows(
            f"SELECT timestamp, traceID, model FROM bench.signoz_spans WHERE traceID = '{ids[i % len(ids)]}'"
        )
        assert len(rows) == SPANS_PER_TRACE, (ids[i % len(ids)], len(rows))

    t_id = timed(len(ids), by_id)
    last_25h = "timestamp BETWEEN (toUInt64(now()) - 25 * 3600) * 1000000000 AND toUInt64(now()) * 1000000000"
    # The newest 20 traces with a keiko-agent span of task.type = T lasting >= 300 ms, and
    # their summaries, in one statement.
    search_sql = f"""
        SELECT traceID,
               anyIf(serviceName, parentSpanID = '') AS root_service,
               anyIf(name, parentSpanID = '') AS root_operation,
               min(timestamp) AS start,
               (max(timestamp + durationNano) - min(timestamp)) / 1e6 AS duration_ms,
               count() AS spans,
               countIf(hasError = 1) AS errors
        FROM bench.signoz_index_v2
        WHERE traceID IN (
            SELECT traceID FROM bench.signoz_index_v2
            WHERE serviceName = 'keiko-agent'
              AND tagsValues[indexOf(tagsKeys, 'task.type')] = '{{task_type}}'
              AND durationNano >= 300000000
              AND {last_25h}
            GROUP BY traceID ORDER BY max(timestamp) DESC LIMIT 20)
        GROUP BY traceID
        ORDER BY start DESC"""
    found = [0]

    def search(i):
        rows = ch.rows(search_sql.replace("{task_type}", TASK_TYPES[i % 3]))
        assert rows and all(int(r[5]) == SPANS_PER_TRACE for r in rows), rows[:2]
        found[0] = len(rows)

    t_search = timed(SEARCH_RUNS, search)
    # The service map as SigNoz's dependency graph reads it from spans: each span joined to
    # its parent, counted where the services differ (18.16 cannot keep it at ingest the way
    # SigNoz's materialized view over a self-join does).
    map_sql = f"""
        SELECT parentService, serviceName, count() AS calls, countIf(hasError = 1) AS errors,
               quantile(0.95)(durationNano) / 1e6 AS p95_ms
        FROM (SELECT traceID, parentSpanID, serviceName, hasError, durationNano
              FROM bench.signoz_index_v2 WHERE parentSpanID != '' AND {last_25h})
        ALL INNER JOIN
             (SELECT traceID, spanID AS parentSpanID, serviceName AS parentService
              FROM bench.signoz_index_v2 WHERE {last_25h})
        USING (traceID, parentSpanID)
        WHERE parentService != serviceName
        GROUP BY parentService, serviceName"""

    def service_map(i):
        rows = ch.rows(map_sql)
        assert len(rows) == EDGES, rows

    t_map = timed(max(MAP_RUNS, 1), service_map)
    version = ch.scalar("SELECT version()")
    return {
        "engine": f"ClickHouse {version} (Debian, server over HTTP), SigNoz-like tables",
        "spans": n,
        "ingest_spans_per_s": n / secs,
        "ingest_secs": secs,
        "ingest_threads": 1,
        "bytes_per_span": sum(size.values()) / n,
        "bytes_per_span_index_only": size["signoz_index_v2"] / n,
        "trace_by_id_ms": t_id,
        "search_ms": t_search,
        "search_traces": found[0],
        "service_map_ms": t_map,
    }


def main():
    spans, ids_file, work, results = sys.argv[1:5]
    ids = [l.strip() for l in open(ids_file) if l.strip()]
    # The file's name goes into the SQL text (a table function's argument): plain characters.
    assert re.fullmatch(r"[A-Za-z0-9_./+-]+", os.path.abspath(spans)), spans
    assert ids and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), ids[:3]
    r = clickhouse(os.path.abspath(spans), ids, work)
    ms = lambda v: f"p50 {v[0]:.2f} ms, p99 {v[1]:.2f} ms"
    print(f"peer: {r['engine']}")
    print(
        f"| OTLP ingest (peer: INSERT … SELECT from the NDJSON file, one thread) | "
        f"{r['ingest_spans_per_s']:.0f} spans/s ({r['ingest_spans_per_s'] / r['ingest_threads']:.0f} per core), {r['ingest_secs']:.1f} s |"
    )
    print(f"| trace by id (10 spans) (peer, signoz_spans) | {ms(r['trace_by_id_ms'])} |")
    print(
        f"| search: service + attribute + duration, {r['search_traces']} traces (peer, signoz_index_v2) | {ms(r['search_ms'])} |"
    )
    print(f"| service map over 24 h (peer, spans joined to their parents) | {ms(r['service_map_ms'])} |")
    print(
        f"| on disk (peer, active parts after OPTIMIZE FINAL) | {r['bytes_per_span']:.1f} bytes per span "
        f"({r['bytes_per_span_index_only']:.1f} in signoz_index_v2) |"
    )
    with open(results, "a") as f:
        f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
