"""The span store benchmark's peer (issue #17), on the spans `tests/benches/traces.rs` sent
to the portal (written with BENCH_SPANS_DUMP): ClickHouse in-process (PyPI `chdb`) holding
them in SigNoz-like tables, `signoz_index_v2` (one row per span, sorted by service, error,
hour, name, time; tag maps; a bloom filter on the trace id, min/max on the duration) and
`signoz_spans` (the span as JSON, sorted by trace id, which SigNoz reads a trace from).
Then the portal bench's reads, the same number of times: a trace by id (the same ids) and
the search by service + attribute + duration over the last 25 h, newest 20 traces with
their summaries (root service and operation, start, duration, spans, errors). The figures
go to stdout as table rows and to the results file as one JSON line.
Run by scripts/bench_traces.sh.

usage: bench_traces_peers.py SPANS_NDJSON IDS_TXT WORK_DIR RESULTS_JSONL
"""

import json
import math
import os
import re
import sys
import time

SEARCH_RUNS = 50
TASK_TYPES = ["analysis", "summary", "triage"]
SPANS_PER_TRACE = 10


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


def scalar(s, sql):
    return s.query(sql, "CSV").bytes().decode().strip().strip('"')


def clickhouse(spans, ids, work):
    import chdb
    from chdb import session

    path = os.path.join(work, "clickhouse")
    s = session.Session(path)
    s.query("CREATE DATABASE IF NOT EXISTS bench")
    s.query("DROP TABLE IF EXISTS bench.signoz_index_v2")
    s.query("DROP TABLE IF EXISTS bench.signoz_spans")
    # The columns these spans fill, with SigNoz's codecs, sort key and indexes (its
    # projection sorted by time and the columns of HTTP/DB/RPC semantics left out).
    s.query(
        """CREATE TABLE bench.signoz_index_v2 (
            timestamp DateTime64(9) CODEC(DoubleDelta, LZ4),
            traceID FixedString(32) CODEC(ZSTD(1)),
            spanID String CODEC(ZSTD(1)),
            parentSpanID String CODEC(ZSTD(1)),
            serviceName LowCardinality(String) CODEC(ZSTD(1)),
            name LowCardinality(String) CODEC(ZSTD(1)),
            kind Int8 CODEC(T64, ZSTD(1)),
            durationNano UInt64 CODEC(T64, ZSTD(1)),
            statusCode Int16 CODEC(T64, ZSTD(1)),
            hasError Bool CODEC(T64, ZSTD(1)),
            stringTagMap Map(String, String) CODEC(ZSTD(1)),
            numberTagMap Map(String, Float64) CODEC(ZSTD(1)),
            INDEX idx_traceID traceID TYPE bloom_filter(0.01) GRANULARITY 1,
            INDEX idx_duration durationNano TYPE minmax GRANULARITY 1,
            INDEX idx_stringTagMapKeys mapKeys(stringTagMap) TYPE tokenbf_v1(1024, 2, 0) GRANULARITY 1,
            INDEX idx_stringTagMapValues mapValues(stringTagMap) TYPE ngrambf_v1(4, 5000, 2, 0) GRANULARITY 1
        ) ENGINE = MergeTree
        PARTITION BY toDate(timestamp)
        PRIMARY KEY (serviceName, hasError, toStartOfHour(timestamp), name)
        ORDER BY (serviceName, hasError, toStartOfHour(timestamp), name, timestamp)"""
    )
    s.query(
        """CREATE TABLE bench.signoz_spans (
            timestamp DateTime64(9) CODEC(DoubleDelta, LZ4),
            traceID FixedString(32) CODEC(ZSTD(1)),
            model String CODEC(ZSTD(9))
        ) ENGINE = MergeTree
        PARTITION BY toDate(timestamp)
        ORDER BY traceID"""
    )
    columns = (
        "trace_id String, span_id String, parent_span_id String, service String, name String, "
        "kind Int8, start_ns Int64, end_ns Int64, status_code Int16, status_message String, "
        "string_attrs Map(String, String), number_attrs Map(String, Float64)"
    )
    started = time.perf_counter()
    # One thread reads, parses and inserts (figures per core); both tables are filled from
    # the same file, as SigNoz's exporter writes both.
    s.query(
        f"""INSERT INTO bench.signoz_index_v2
            SELECT fromUnixTimestamp64Nano(start_ns), trace_id, span_id, parent_span_id, service,
                   name, kind, end_ns - start_ns, status_code, status_code = 2, string_attrs,
                   number_attrs
            FROM file('{spans}', JSONEachRow, '{columns}')
            SETTINGS max_threads = 1, max_insert_threads = 1"""
    )
    s.query(
        f"""INSERT INTO bench.signoz_spans
            SELECT fromUnixTimestamp64Nano(JSONExtractInt(json, 'start_ns')),
                   JSONExtractString(json, 'trace_id'), json
            FROM file('{spans}', JSONAsString)
            SETTINGS max_threads = 1, max_insert_threads = 1"""
    )
    secs = time.perf_counter() - started
    n = int(scalar(s, "SELECT count() FROM bench.signoz_index_v2"))
    # Merges settle what is on disk (as they would in a running server).
    s.query("OPTIMIZE TABLE bench.signoz_index_v2 FINAL")
    s.query("OPTIMIZE TABLE bench.signoz_spans FINAL")
    size = {
        t: int(
            scalar(
                s,
                f"SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'bench' AND table = '{t}' AND active",
            )
        )
        for t in ("signoz_index_v2", "signoz_spans")
    }

    def by_id(i):
        out = s.query(
            "SELECT timestamp, traceID, model FROM bench.signoz_spans WHERE traceID = {id:FixedString(32)}",
            "JSONCompact",
            params={"id": ids[i % len(ids)]},
        )
        rows = json.loads(out.bytes())["data"]
        assert len(rows) == SPANS_PER_TRACE, (ids[i % len(ids)], len(rows))

    t_id = timed(len(ids), by_id)
    # The newest 20 traces with a keiko-agent span of task.type = T lasting >= 300 ms, and
    # their summaries, in one statement.
    search_sql = """
        SELECT traceID,
               anyIf(serviceName, parentSpanID = '') AS root_service,
               anyIf(name, parentSpanID = '') AS root_operation,
               min(timestamp) AS start,
               (max(toUnixTimestamp64Nano(timestamp) + durationNano)
                 - min(toUnixTimestamp64Nano(timestamp))) / 1e6 AS duration_ms,
               count() AS spans,
               countIf(hasError) AS errors
        FROM bench.signoz_index_v2
        WHERE traceID IN (
            SELECT traceID FROM bench.signoz_index_v2
            WHERE serviceName = 'keiko-agent'
              AND stringTagMap['task.type'] = {task_type:String}
              AND durationNano >= 300000000
              AND timestamp BETWEEN now64(9) - INTERVAL 25 HOUR AND now64(9)
            GROUP BY traceID ORDER BY max(timestamp) DESC LIMIT 20)
        GROUP BY traceID
        ORDER BY start DESC"""
    found = [0]

    def search(i):
        out = s.query(search_sql, "JSONCompact", params={"task_type": TASK_TYPES[i % 3]})
        rows = json.loads(out.bytes())["data"]
        assert rows and all(int(r[5]) == SPANS_PER_TRACE for r in rows), rows[:2]
        found[0] = len(rows)

    t_search = timed(SEARCH_RUNS, search)
    version = scalar(s, "SELECT version()")
    s.close()
    return {
        "engine": f"ClickHouse {version} (chdb {chdb.__version__}), SigNoz-like tables",
        "spans": n,
        "ingest_spans_per_s": n / secs,
        "ingest_secs": secs,
        "ingest_threads": 1,
        "bytes_per_span": sum(size.values()) / n,
        "bytes_per_span_index_only": size["signoz_index_v2"] / n,
        "trace_by_id_ms": t_id,
        "search_ms": t_search,
        "search_traces": found[0],
    }


def main():
    spans, ids_file, work, results = sys.argv[1:5]
    ids = [l.strip() for l in open(ids_file) if l.strip()]
    # The path goes into the SQL text (a table function's argument): plain characters only.
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
    print(
        f"| on disk (peer, active parts after OPTIMIZE FINAL) | {r['bytes_per_span']:.1f} bytes per span "
        f"({r['bytes_per_span_index_only']:.1f} in signoz_index_v2) |"
    )
    with open(results, "a") as f:
        f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
