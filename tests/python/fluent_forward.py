"""Sends log records to the portal's Fluentd forward listener (#16) with PyPI
`fluent-logger` (Message mode, EventTime, through Python's `logging` too) and with raw
`msgpack` for the Forward, PackedForward and CompressedPackedForward modes, each with a
chunk id whose acknowledgement it waits for. Prints `ok`."""

import gzip
import logging
import os
import socket
import time

import msgpack
from fluent import handler, sender

HOST = "127.0.0.1"
PORT = int(os.environ["FLUENT_PORT"])

# Message mode with EventTime (nanosecond precision).
s = sender.FluentSender("shop", host=HOST, port=PORT, nanosecond_precision=True)
if not s.emit(
    "checkout",
    {"message": "order placed", "level": "INFO", "correlation_id": "fl-1"},
):
    raise SystemExit(f"emit failed: {s.last_error}")
s.close()

# Python logging through fluent-logger's handler.
h = handler.FluentHandler("shop.logs", host=HOST, port=PORT)
h.setFormatter(
    handler.FluentRecordFormatter(
        {"level": "%(levelname)s", "message": "%(message)s", "logger": "%(name)s"}
    )
)
log = logging.getLogger("keiko.fluent")
log.addHandler(h)
log.setLevel(logging.INFO)
log.warning("payment slow")
h.close()


def acknowledged(message, chunk):
    """Sends one message and waits for {"ack": chunk}."""
    with socket.create_connection((HOST, PORT), timeout=20) as c:
        c.sendall(msgpack.packb(message, use_bin_type=True))
        unpacker = msgpack.Unpacker(raw=False)
        while True:
            data = c.recv(4096)
            if not data:
                raise SystemExit(f"connection closed without an ack for {chunk}")
            unpacker.feed(data)
            for answer in unpacker:
                if answer != {"ack": chunk}:
                    raise SystemExit(f"unexpected answer {answer!r}")
                return


now = int(time.time())
acknowledged(
    ["shop.forward", [[now, {"message": "forward one"}], [now, {"message": "forward two"}]], {"chunk": "c1"}],
    "c1",
)
packed = b"".join(msgpack.packb([now, {"message": f"packed {i}"}]) for i in range(3))
acknowledged(["shop.packed", packed, {"chunk": "c2", "size": 3}], "c2")
zipped = b"".join(msgpack.packb([now, {"message": f"zipped {i}"}]) for i in range(3))
acknowledged(
    ["shop.gzip", gzip.compress(zipped), {"chunk": "c3", "size": 3, "compressed": "gzip"}],
    "c3",
)
print("ok")
