"""Spans through PyPI py-zipkin (Zipkin v2 JSON) to ZIPKIN_ENDPOINT, with the token in
ZIPKIN_TOKEN. py-zipkin's transport is pluggable: PortalTransport POSTs the encoded
payload as py-zipkin hands it over. A server span with a client span inside it (remote
endpoint, an annotation, an `error` tag). Prints the trace id. Exits non-zero when a POST
is not answered 202.

Run by tests/tests/traces_py_zipkin.rs.
"""

import os
import sys
import time
import urllib.error
import urllib.request

from py_zipkin import Encoding
from py_zipkin.transport import BaseTransportHandler
from py_zipkin.zipkin import zipkin_client_span, zipkin_server_span


class PortalTransport(BaseTransportHandler):
    """POSTs each encoded batch to the portal's Zipkin endpoint; remembers the answers."""

    def __init__(self, url, token):
        super().__init__()
        self.url = url
        self.token = token
        self.answers = []

    def get_max_payload_bytes(self):
        return None

    def send(self, payload):
        body = payload if isinstance(payload, bytes) else payload.encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.token}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                self.answers.append(r.status)
        except urllib.error.HTTPError as e:
            self.answers.append(e.code)
            print(e.read().decode(errors="replace"), file=sys.stderr)


transport = PortalTransport(os.environ["ZIPKIN_ENDPOINT"], os.environ["ZIPKIN_TOKEN"])

with zipkin_server_span(
    service_name="keiko-py-api",
    span_name="POST /api/agents/run",
    transport_handler=transport,
    sample_rate=100.0,
    use_128bit_trace_id=True,
    encoding=Encoding.V2_JSON,
    binary_annotations={"http.method": "POST", "correlation_id": "py-zipkin-corr-1"},
    host="10.0.0.5",
    port=8080,
) as root:
    trace_id = root.zipkin_attrs.trace_id
    with zipkin_client_span(
        service_name="keiko-py-api",
        span_name="mcp.call",
        encoding=Encoding.V2_JSON,
        binary_annotations={"mcp.tool": "search_docs"},
    ) as call:
        call.add_sa_binary_annotation(port=9000, service_name="mcp-server", host="10.0.0.9")
        call.add_annotation("retry")
        time.sleep(0.02)
        call.update_binary_annotations({"error": "tool timed out"})

if not transport.answers or any(a != 202 for a in transport.answers):
    print(f"the portal answered {transport.answers}", file=sys.stderr)
    sys.exit(1)
print(trace_id)
