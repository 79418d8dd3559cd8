"""The log store benchmark's peers (issue #16), on the lines `spike --engine dump` wrote:
Debian's ClickHouse 18.16 (a server scripts/bench_logs.sh started, over HTTP at
CLICKHOUSE_URL, reading the file from its user_files directory; a MergeTree table) and
SQLite FTS5. Each loads the same NDJSON file, then runs `level:ERROR AND "timeout"` (newest
100, and the full count) and `correlation_id:<id>` over the whole set (~24 h), RUNS times
each; figures are appended to the results file as one JSON line per engine. Run by
scripts/bench_logs.sh.

usage: bench_logs_peers.py LINES_NDJSON IDS_TXT WORK_DIR RESULTS_JSONL [clickhouse|sqlite ...]
"""

import json
import os
import re
import sqlite3
import sys
import time

from clickhouse_http import ClickHouse

RUNS = 50
BATCH = 10_000


def percentiles(ms):
    ms = sorted(ms)
    at = lambda q: ms[round((len(ms) - 1) * q)]
    return [at(0.5), at(0.99)]


def timed(f):
    out = []
    for i in range(RUNS):
        t = time.perf_counter()
        f(i)
        out.append((time.perf_counter() - t) * 1000.0)
    return percentiles(out)


def dir_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def clickhouse(lines, ids, work):
    ch = ClickHouse(os.environ["CLICKHOUSE_URL"])
    ch.query("CREATE DATABASE IF NOT EXISTS bench")
    ch.query("DROP TABLE IF EXISTS bench.logs")
    # Sorted by service, level and time, as ClickHouse's own OpenTelemetry exporter lays a
    # logs table out. 18.16 has no DateTime64 (nanoseconds as UInt64), no data-skipping
    # indices (so no bloom filter on the id, no token bloom filter on the body), no
    # per-column codecs (the server compresses every part with zstd) and only an experimental
    # LowCardinality (plain String here).
    ch.query(
        """CREATE TABLE bench.logs (
            time_ns UInt64,
            level String,
            service String,
            correlation_id String,
            message String,
            logger String,
            module String,
            function String,
            line UInt32,
            user_id String,
            exception_type String,
            exception_message String,
            exception_traceback String
        ) ENGINE = MergeTree
        PARTITION BY toDate(toDateTime(intDiv(time_ns, 1000000000)))
        ORDER BY (service, level, time_ns)"""
    )
    # 18.16 splits a structure argument on single spaces: one line.
    structure = (
        "time_ns UInt64, level String, service String, correlation_id String, message String, "
        "logger String, module String, function String, line UInt32, user_id String, "
        "exception_type String, exception_message String, exception_traceback String"
    )
    started = time.perf_counter()
    # One thread parses and inserts (figures per core); the server reads the file itself.
    ch.query(
        f"""INSERT INTO bench.logs
            SELECT * FROM file('{os.path.basename(lines)}', JSONEachRow, '{structure}')
            SETTINGS max_threads = 1"""
    )
    secs = time.perf_counter() - started
    n = int(ch.scalar("SELECT count() FROM bench.logs"))
    # Merges settle what is on disk (as they would in a running server).
    ch.query("OPTIMIZE TABLE bench.logs FINAL")
    size = int(
        ch.scalar("SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'bench' AND table = 'logs' AND active")
    )
    # No hasToken in 18.16: a case-insensitive substring, which on these messages matches
    # exactly the lines the own store's token "timeout" matches (the counts are compared).
    term = "level = 'ERROR' AND positionCaseInsensitive(message, 'timeout') > 0"
    newest = f"SELECT time_ns, service, message FROM bench.logs WHERE {term} ORDER BY time_ns DESC LIMIT 100"
    count_q = f"SELECT count() FROM bench.logs WHERE {term}"
    like_q = "SELECT count() FROM bench.logs WHERE level = 'ERROR' AND lower(message) LIKE '%timeout%'"
    ch.query(newest)
    t_newest = timed(lambda i: ch.query(newest))
    count = int(ch.scalar(count_q))
    t_count = timed(lambda i: ch.query(count_q))
    like_count = int(ch.scalar(like_q))
    t_like = timed(lambda i: ch.query(like_q))
    hits = [0]

    def by_id(i):
        # ids are checked against the uuid shape in main(); 18.16 has no query parameters.
        out = ch.query(
            f"SELECT time_ns, message FROM bench.logs WHERE correlation_id = '{ids[i % len(ids)]}' ORDER BY time_ns DESC LIMIT 100"
        )
        hits[0] += len(out.strip().splitlines())

    ch.query(f"SELECT count() FROM bench.logs WHERE correlation_id = '{ids[0]}'")
    t_id = timed(by_id)
    version = ch.scalar("SELECT version()")
    return {
        "engine": f"ClickHouse {version} (Debian, server over HTTP, MergeTree)",
        "lines": n,
        "ingest_lines_per_s": n / secs,
        "ingest_threads": 1,
        "bytes_per_line": size / n,
        "term_newest100_ms": t_newest,
        "term_count_ms": t_count,
        "term_count": count,
        "like_count_ms": t_like,
        "like_count": like_count,
        "id_ms": t_id,
        "id_lines": hits[0] / RUNS,
    }


def sqlite(lines, ids, work):
    path = os.path.join(work, "sqlite", "logs.db")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = sqlite3.connect(path)
    # Each batch of 10,000 is durable before the next, as the own store's appends are.
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute(
        """CREATE TABLE logs (
            id INTEGER PRIMARY KEY, time INTEGER, level TEXT, service TEXT,
            correlation_id TEXT, message TEXT, attributes TEXT)"""
    )
    db.execute("CREATE INDEX logs_cid ON logs(correlation_id)")
    db.execute("CREATE VIRTUAL TABLE logs_fts USING fts5(message, content='logs', content_rowid='id')")
    started = time.perf_counter()
    n = 0
    rows = []
    fts = []

    def flush():
        with db:
            db.executemany("INSERT INTO logs VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            db.executemany("INSERT INTO logs_fts(rowid, message) VALUES (?, ?)", fts)
        rows.clear()
        fts.clear()

    with open(lines, encoding="utf-8") as f:
        for raw in f:
            r = json.loads(raw)
            n += 1
            attrs = {
                k: r[k]
                for k in ("logger", "module", "function", "line", "user_id", "exception_type", "exception_message", "exception_traceback")
                if r[k] not in ("", None)
            }
            rows.append((n, r["time_ns"], r["level"], r["service"], r["correlation_id"], r["message"], json.dumps(attrs)))
            fts.append((n, r["message"]))
            if len(rows) == BATCH:
                flush()
    if rows:
        flush()
    secs = time.perf_counter() - started
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
    # Rows go in time order, so the id orders by time.
    newest = (
        "SELECT l.time, l.service, l.message FROM logs_fts JOIN logs l ON l.id = logs_fts.rowid "
        "WHERE logs_fts MATCH 'timeout' AND l.level = 'ERROR' ORDER BY l.id DESC LIMIT 100"
    )
    count_q = (
        "SELECT count(*) FROM logs_fts JOIN logs l ON l.id = logs_fts.rowid "
        "WHERE logs_fts MATCH 'timeout' AND l.level = 'ERROR'"
    )
    db.execute(newest).fetchall()
    t_newest = timed(lambda i: db.execute(newest).fetchall())
    count = db.execute(count_q).fetchone()[0]
    t_count = timed(lambda i: db.execute(count_q).fetchone())
    hits = [0]

    def by_id(i):
        hits[0] += len(
            db.execute(
                "SELECT time, message FROM logs WHERE correlation_id = ? ORDER BY id DESC LIMIT 100",
                (ids[i % len(ids)],),
            ).fetchall()
        )

    t_id = timed(by_id)
    db.close()
    return {
        "engine": f"SQLite {sqlite3.sqlite_version} FTS5",
        "lines": n,
        "ingest_lines_per_s": n / secs,
        "ingest_threads": 1,
        "bytes_per_line": size / n,
        "term_newest100_ms": t_newest,
        "term_count_ms": t_count,
        "term_count": count,
        "id_ms": t_id,
        "id_lines": hits[0] / RUNS,
    }


def main():
    lines, ids_file, work, results = sys.argv[1:5]
    engines = sys.argv[5:] or ["clickhouse", "sqlite"]
    ids = [l.strip() for l in open(ids_file) if l.strip()]
    # The ids go into ClickHouse's SQL text: only the generator's uuid shape is accepted.
    assert ids and all(re.fullmatch(r"[0-9a-f-]{36}", i) for i in ids), ids[:3]
    for e in engines:
        figures = {"clickhouse": clickhouse, "sqlite": sqlite}[e](lines, ids, work)
        print(json.dumps(figures), flush=True)
        with open(results, "a") as f:
            f.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
