"""Sends two records to the portal's Fluentd forward listener (#16) with PyPI
`fluent-logger` (Message mode): one within the portal's configured limits, one with more
fields than a line may have (the portal drops that entry and counts it; the forward
protocol has no per-entry error). Prints `ok`.

Run by tests/tests/logs_limits.rs."""

import os

from fluent import sender

s = sender.FluentSender("limits", host="127.0.0.1", port=int(os.environ["FLUENT_PORT"]))
wide = {"message": "too wide", "correlation_id": "refused-forward"}
wide.update({f"extra_{i}": i for i in range(10)})
for record in ({"message": "kept", "correlation_id": "kept-forward"}, wide):
    if not s.emit("app", record):
        raise SystemExit(f"emit failed: {s.last_error}")
s.close()
print("ok")
