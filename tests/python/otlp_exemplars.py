"""Records a request-duration histogram inside a sampled span with OpenTelemetry's Python
SDK (its default exemplar filter, trace_based, attaches the span's trace as an exemplar)
and exports it with the OTLP/HTTP metric exporter (protobuf) to OTLP_ENDPOINT with the
token in OTLP_TOKEN. The spans themselves go to OTLP_TRACES_ENDPOINT, so the exemplar's
trace can be opened. Prints the trace id. Exits non-zero when an export fails.

Run by tests/tests/exemplars.rs.
"""

import os
import sys

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult

headers = {"Authorization": "Bearer " + os.environ["OTLP_TOKEN"]}
resource = Resource.create({"service.name": "keiko-api"})
tracer_provider = TracerProvider(resource=resource)
tracer = tracer_provider.get_tracer("keiko.api")
reader = InMemoryMetricReader()
meter = MeterProvider(resource=resource, metric_readers=[reader]).get_meter("keiko.api")
duration = meter.create_histogram(
    "keiko.request.duration",
    unit="s",
    explicit_bucket_boundaries_advisory=[0.1, 0.5, 1.0],
)

spans = []
with tracer.start_as_current_span("GET /api/agents") as span:
    duration.record(0.3, {"endpoint": "/api/agents"})
    trace_id = format(span.get_span_context().trace_id, "032x")
    spans.append(span)

metrics = OTLPMetricExporter(endpoint=os.environ["OTLP_ENDPOINT"], headers=headers, timeout=10)
if metrics.export(reader.get_metrics_data()) != MetricExportResult.SUCCESS:
    sys.exit("metric export failed")
traces = OTLPSpanExporter(endpoint=os.environ["OTLP_TRACES_ENDPOINT"], headers=headers, timeout=10)
if traces.export(spans) != SpanExportResult.SUCCESS:
    sys.exit("span export failed")
print(trace_id)
