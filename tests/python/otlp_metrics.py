"""Exports the seed's Keiko metrics through OpenTelemetry's Python SDK and its OTLP/HTTP
exporter (protobuf) to the endpoint in OTLP_ENDPOINT, with the token in OTLP_TOKEN, once.

Run by tests/tests/otlp_python.rs: what arrives is checked there through the portal's
Prometheus API. Exits non-zero when the exporter reports a failure.
"""

import os
import sys

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExportResult,
)
from opentelemetry.sdk.resources import Resource

resource = Resource.create(
    {
        "service.name": "keiko-api",
        "service.namespace": "keiko",
        "service.instance.id": "pod-1",
        "deployment.environment": "test",
    }
)
reader = InMemoryMetricReader()
provider = MeterProvider(resource=resource, metric_readers=[reader])
meter = provider.get_meter("keiko.monitoring")

# The seed's FastAPI metrics, as the OpenTelemetry SDK names them.
requests = meter.create_counter("keiko.requests", unit="{request}", description="HTTP requests")
for status, n in (("200", 5), ("500", 2)):
    requests.add(n, {"endpoint": "/api/agents", "status": status})
duration = meter.create_histogram(
    "keiko.request.duration",
    unit="s",
    description="Request duration",
    explicit_bucket_boundaries_advisory=[0.1, 0.5, 1.0],
)
for seconds in (0.05, 0.2, 0.3, 0.7, 2.0):
    duration.record(seconds, {"endpoint": "/api/agents"})
meter.create_observable_gauge(
    "keiko.active.agents",
    callbacks=[lambda _options: [Observation(3, {"agent_type": "researcher"})]],
    description="Agents running",
)
tasks = meter.create_up_down_counter("keiko.queue.length", unit="{task}")
tasks.add(4)
tasks.add(-1)

exporter = OTLPMetricExporter(
    endpoint=os.environ["OTLP_ENDPOINT"],
    headers={"Authorization": "Bearer " + os.environ["OTLP_TOKEN"]},
    timeout=10,
)
data = reader.get_metrics_data()
result = exporter.export(data)
exporter.shutdown()
if result is not MetricExportResult.SUCCESS:
    print(f"export failed: {result}", file=sys.stderr)
    sys.exit(1)
print("exported")
