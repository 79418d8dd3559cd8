"""Spans through OpenTelemetry's Python SDK and its OTLP/HTTP span exporter (protobuf) to
OTLP_ENDPOINT with the token in OTLP_TOKEN, shaped as the seed's tracing chapter makes them:
`agent_task_execution` with agent.id, task.type, task.priority, task.status and
task.result_size, and inside it an MCP call (client span of keiko-agent, server span of
the MCP server `mcp-filesystem`, joined by W3C trace context as a real call would be).
One task succeeds, one fails with a recorded exception. Prints the two trace ids (ok,
failed). Exits non-zero when the exporter reports a failure.

Run by tests/tests/traces.rs, which reads the traces back through the portal's APIs.
"""

import os
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

run_id = os.environ["RUN_ID"]
failures = []


class Checked(SimpleSpanProcessor):
    """Records export failures (the SDK only logs them)."""

    def on_end(self, span):
        result = self.span_exporter.export((span,))
        if result.name != "SUCCESS":
            failures.append(result)


def provider(service):
    p = TracerProvider(resource=Resource.create({"service.name": service, "deployment.environment": "test"}))
    exporter = OTLPSpanExporter(
        endpoint=os.environ["OTLP_ENDPOINT"],
        headers={"Authorization": f"Bearer {os.environ['OTLP_TOKEN']}"},
    )
    p.add_span_processor(Checked(exporter))
    return p


agent = provider("keiko-agent").get_tracer("keiko.agents")
mcp = provider("mcp-filesystem").get_tracer("keiko.mcp")


def mcp_call(tool, fail=False):
    """The agent's client span and the MCP server's span for one tool call."""
    with agent.start_as_current_span("mcp.call", kind=SpanKind.CLIENT) as client:
        client.set_attribute("mcp.server", "filesystem")
        client.set_attribute("mcp.tool", tool)
        client.set_attribute("run.id", run_id)
        carrier = {}
        inject(carrier)
        with mcp.start_as_current_span(
            f"tools/call {tool}", context=extract(carrier), kind=SpanKind.SERVER
        ) as server:
            server.set_attribute("mcp.tool", tool)
            if fail:
                raise TimeoutError("filesystem server did not answer")
            return {"files": ["a.md", "b.md"]}


def traced_agent_execution(agent_id, task):
    with agent.start_as_current_span("agent_task_execution", kind=SpanKind.SERVER) as span:
        span.set_attribute("agent.id", agent_id)
        span.set_attribute("task.type", task.get("task_type"))
        span.set_attribute("task.priority", task.get("priority", "normal"))
        span.set_attribute("run.id", run_id)
        trace_id = format(span.get_span_context().trace_id, "032x")
        try:
            result = mcp_call("read_file", fail=task.get("fail", False))
            span.set_attribute("task.status", "completed")
            span.set_attribute("task.result_size", len(str(result)))
        except Exception as e:
            span.set_attribute("task.status", "failed")
            span.set_attribute("error.type", type(e).__name__)
            span.set_attribute("error.message", str(e))
            span.record_exception(e)
            span.set_status(trace.Status(trace.StatusCode.ERROR, str(e)))
        return trace_id


ok = traced_agent_execution("agent-7", {"task_type": "analysis", "priority": "high"})
failed = traced_agent_execution("agent-7", {"task_type": "analysis", "fail": True})
if failures:
    print(f"export failed: {failures}", file=sys.stderr)
    sys.exit(1)
print(ok)
print(failed)
