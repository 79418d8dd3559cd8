"""Logs through Python's `logging` into OpenTelemetry's Python SDK and its OTLP/HTTP log
exporter (protobuf; gzip-compressed when OTLP_COMPRESSION=gzip) to OTLP_ENDPOINT with the
token in OTLP_TOKEN: the seed's StructuredFormatter fields (logger, module, function, line
come from the record; the correlation id from `extra`), one line inside a span (trace and
span id), one with an exception. Prints the trace id. Exits non-zero when the exporter
reports a failure.

Run by tests/tests/logs.rs and tests/tests/logs_otlp.rs, which find the lines through the
portal's log API.
"""

import logging
import os
import sys

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

correlation_id = os.environ["CORRELATION_ID"]
resource = Resource.create({"service.name": "keiko-api", "service.instance.id": "pod-1"})
exporter = OTLPLogExporter(
    endpoint=os.environ["OTLP_ENDPOINT"],
    headers={"Authorization": f"Bearer {os.environ['OTLP_TOKEN']}"},
    compression=Compression(os.environ.get("OTLP_COMPRESSION", "none")),
)
failures = []


class Checked(SimpleLogRecordProcessor):
    """Records export failures (the SDK only logs them)."""

    def on_emit(self, log_record):
        result = self._exporter.export((log_record,))
        if result.name != "SUCCESS":
            failures.append(result)


provider = LoggerProvider(resource=resource)
provider.add_log_record_processor(Checked(exporter))
log = logging.getLogger("keiko.request")
log.setLevel(logging.INFO)
log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))

tracer = TracerProvider(resource=resource).get_tracer("keiko")


def handle_request():
    log.info("Request started", extra={"correlation_id": correlation_id, "user_id": "u7"})
    with tracer.start_as_current_span("payment") as span:
        log.warning("Slow call to payment-service", extra={"correlation_id": correlation_id})
        trace_id = format(span.get_span_context().trace_id, "032x")
    try:
        raise TimeoutError("payment-service did not answer")
    except TimeoutError:
        log.exception("Request failed", extra={"correlation_id": correlation_id})
    return trace_id


trace_id = handle_request()
provider.shutdown()
if failures:
    print(f"export failed: {failures}", file=sys.stderr)
    sys.exit(1)
print(trace_id)
