"""Spans through OpenTelemetry's Python SDK and its Zipkin JSON exporter
(opentelemetry-exporter-zipkin-json, Zipkin v2 JSON) to ZIPKIN_ENDPOINT, with the token in
ZIPKIN_TOKEN sent by the exporter's own requests session. A server span with a client span
inside it, one with an error. Prints the trace id. Exits non-zero when the export fails.

Run by tests/tests/traces.rs.
"""

import os
import sys

import requests
from opentelemetry import trace
from opentelemetry.exporter.zipkin.json import ZipkinExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

session = requests.Session()
session.headers["Authorization"] = f"Bearer {os.environ['ZIPKIN_TOKEN']}"
exporter = ZipkinExporter(endpoint=os.environ["ZIPKIN_ENDPOINT"], session=session)

provider = TracerProvider(resource=Resource.create({"service.name": "keiko-zipkin-api"}))
tracer = provider.get_tracer("keiko.zipkin")

with tracer.start_as_current_span("GET /api/tasks", kind=SpanKind.SERVER) as root:
    root.set_attribute("http.method", "GET")
    root.set_attribute("agent.id", "agent-z")
    trace_id = format(root.get_span_context().trace_id, "032x")
    with tracer.start_as_current_span("SELECT tasks", kind=SpanKind.CLIENT) as db:
        db.set_attribute("db.system", "postgresql")
        db.set_status(trace.Status(trace.StatusCode.ERROR, "deadlock detected"))
        inner = db
    outer = root

result = exporter.export([inner, outer])
if result.name != "SUCCESS":
    print(f"export failed: {result}", file=sys.stderr)
    sys.exit(1)
print(trace_id)
