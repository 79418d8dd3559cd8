"""ClickHouse's HTTP interface for the benchmark peers (scripts/bench_logs_peers.py,
scripts/bench_traces_peers.py): the server scripts/clickhouse_peer.sh started, at
CLICKHOUSE_URL. One kept-alive connection; answers as text."""

import http.client
import json
import urllib.parse


class ClickHouse:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.conn = None

    def query(self, sql):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=3600)
            try:
                self.conn.request("POST", "/", body=sql.encode())
                r = self.conn.getresponse()
                body = r.read().decode()
            except (http.client.HTTPException, ConnectionError):
                # The server closes idle connections after 3 s (keep_alive_timeout).
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
                continue
            if r.status != 200:
                raise RuntimeError(f"ClickHouse {r.status}: {body[:500]} for {sql[:200]}")
            return body

    def scalar(self, sql):
        return self.query(sql).strip()

    def rows(self, sql):
        return json.loads(self.query(sql + " FORMAT JSONCompact"))["data"]
