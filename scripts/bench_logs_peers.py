"""The log store benchmark's peers (issue #16), on the lines `spike --engine dump` wrote:
ClickHouse (in-process, PyPI `chdb`; a MergeTree table) and SQLite FTS5. Each loads the
same NDJSON file, then runs `level:ERROR AND "timeout"` (newest 100, and the full count)
and `correlation_id:<id>` over the whole set (~24 h), RUNS times each; figures are
appended to the results file as one JSON line per engine. Run by scripts/bench_logs.sh.

usage: bench_logs_peers.py LINES_NDJSON IDS_TXT WORK_DIR RESULTS_JSONL [clickhouse|sqlite ...]
"""

import json
import os
import re
import sqlite3
import sys
import time

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
    import chdb
    from chdb import session

    path = os.path.join(work, "clickhouse")
    s = session.Session(path)
    s.query("CREATE DATABASE IF NOT EXISTS bench")
    s.query("DROP TABLE IF EXISTS bench.logs")
    # A logs table as ClickHouse's own OpenTelemetry exporter lays one out: sorted by
    # service, level and time; a bloom filter on the id, a token bloom filter on the body.
    s.query(
        """CREATE TABLE bench.logs (
            time DateTime64(9),
            level LowCardinality(String),
            service LowCardinality(String),
            correlation_id String,
            message String,
            logger LowCardinality(String),
            module LowCardinality(String),
            function LowCardinality(String),
            line UInt32,
            user_id String,
            exception_type LowCardinality(String),
            exception_message String,
            exception_traceback String,
            INDEX cid correlation_id TYPE bloom_filter(0.01) GRANULARITY 1,
            INDEX body lower(message) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1
        ) ENGINE = MergeTree ORDER BY (service, level, time)"""
    )
    started = time.perf_counter()
    # One thread parses and inserts (figures per core); the server-side reader of the file.
    s.query(
        f"""INSERT INTO bench.logs
            SELECT fromUnixTimestamp64Nano(time_ns), level, service, correlation_id, message,
                   logger, module, function, line, user_id, exception_type,
                   exception_message, exception_traceback
            FROM file('{lines}', JSONEachRow,
              'time_ns Int64, level String, service String, correlation_id String,
               message String, logger String, module String, function String, line UInt32,
               user_id String, exception_type String, exception_message String,
               exception_traceback String')
            SETTINGS max_threads = 1, max_insert_threads = 1"""
    )
    secs = time.perf_counter() - started
    n = int(s.query("SELECT count() FROM bench.logs", "CSV").bytes().decode().strip())
    # Merges settle what is on disk (as they would in a running server).
    s.query("OPTIMIZE TABLE bench.logs FINAL")
    size = int(
        s.query(
            "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'bench' AND table = 'logs' AND active",
            "CSV",
        )
        .bytes()
        .decode()
        .strip()
    )
    term = "level = 'ERROR' AND hasTokenCaseInsensitive(message, 'timeout')"
    newest = f"SELECT time, service, message FROM bench.logs WHERE {term} ORDER BY time DESC LIMIT 100"
    count_q = f"SELECT count() FROM bench.logs WHERE {term}"
    like_q = "SELECT count() FROM bench.logs WHERE level = 'ERROR' AND message ILIKE '%timeout%'"
    s.query(newest, "CSV")
    t_newest = timed(lambda i: s.query(newest, "CSV"))
    count = int(s.query(count_q, "CSV").bytes().decode().strip())
    t_count = timed(lambda i: s.query(count_q, "CSV"))
    like_count = int(s.query(like_q, "CSV").bytes().decode().strip())
    t_like = timed(lambda i: s.query(like_q, "CSV"))
    hits = [0]

    def by_id(i):
        out = s.query(
            f"SELECT time, message FROM bench.logs WHERE correlation_id = '{ids[i % len(ids)]}' ORDER BY time DESC LIMIT 100",
            "CSV",
        )
        hits[0] += len(out.bytes().decode().strip().splitlines())

    t_id = timed(by_id)
    version = s.query("SELECT version()", "CSV").bytes().decode().strip().strip('"')
    s.close()
    return {
        "engine": f"ClickHouse {version} (chdb {chdb.__version__}, MergeTree)",
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
