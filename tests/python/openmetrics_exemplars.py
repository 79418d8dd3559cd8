"""An application instrumented with the official Prometheus client (PyPI prometheus-client),
exposing OpenMetrics with exemplars: a counter and a histogram, each incremented with the
trace id of the request that did it, as the seed's FastAPI middleware would. Serves on
127.0.0.1:$PORT until it is killed; prints "ready" once it listens."""

import os
import sys
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

registry = CollectorRegistry()
requests = Counter(
    "keiko_requests", "HTTP requests", ["endpoint"], registry=registry
)
duration = Histogram(
    "keiko_request_duration_seconds",
    "Request duration",
    ["endpoint"],
    buckets=(0.1, 0.5, 1.0),
    registry=registry,
)
trace_id = os.environ["TRACE_ID"]
requests.labels(endpoint="/api/agents").inc(3, exemplar={"trace_id": trace_id})
duration.labels(endpoint="/api/agents").observe(0.3, exemplar={"trace_id": trace_id, "span_id": "00f067aa0ba902b7"})

start_http_server(int(os.environ["PORT"]), addr="127.0.0.1", registry=registry)
print("ready", flush=True)
while True:
    time.sleep(1)
