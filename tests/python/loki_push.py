"""Logs through Python's `logging` with the seed's StructuredFormatter into PyPI's
python-logging-loki handler (Loki push API v1, JSON) at LOKI_URL with Basic credentials
LOKI_USER / LOKI_PASSWORD, tagged with the service. The handler raises on any answer but
Loki's 204; this script exits non-zero when it did.

Run by tests/tests/logs.rs, which finds the lines through the portal's log API.
"""

import json
import logging
import os
import sys
from datetime import datetime

import logging_loki


class StructuredFormatter(logging.Formatter):
    """The seed's formatter (enterprise-monitoring.md, logging chapter)."""

    def format(self, record: logging.LogRecord) -> str:
        log_entry = {
            "timestamp": datetime.utcnow().isoformat() + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "module": record.module,
            "function": record.funcName,
            "line": record.lineno,
        }
        for key in ("correlation_id", "user_id", "agent_id", "task_id"):
            if hasattr(record, key):
                log_entry[key] = getattr(record, key)
        if record.exc_info:
            log_entry["exception"] = {
                "type": record.exc_info[0].__name__,
                "message": str(record.exc_info[1]),
                "traceback": self.formatException(record.exc_info),
            }
        return json.dumps(log_entry, ensure_ascii=False)


failed = []


class Handler(logging_loki.LokiHandler):
    def handleError(self, record):
        failed.append(sys.exc_info()[1])


handler = Handler(
    url=os.environ["LOKI_URL"],
    tags={"service_name": "keiko-worker", "env": "test"},
    auth=(os.environ["LOKI_USER"], os.environ["LOKI_PASSWORD"]),
    version="1",
)
handler.setFormatter(StructuredFormatter())
log = logging.getLogger("keiko.worker")
log.setLevel(logging.INFO)
log.addHandler(handler)

correlation_id = os.environ["CORRELATION_ID"]
log.info("Task picked up", extra={"correlation_id": correlation_id, "task_id": "t-9"})
try:
    raise ConnectionError("queue unreachable")
except ConnectionError:
    log.error("Task failed", exc_info=True, extra={"correlation_id": correlation_id})

if failed:
    print(f"push failed: {failed}", file=sys.stderr)
    sys.exit(1)
print("pushed")
