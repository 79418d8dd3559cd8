"""A real SMTP server (aiosmtpd) for the notification tests: listens on 127.0.0.1:PORT,
accepts AUTH PLAIN/LOGIN for keiko / s3cret-pw without TLS, and writes every message it
receives to DIR/<n>.eml. Runs until killed."""

import sys
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Sink:
    def __init__(self, directory):
        self.directory = Path(directory)
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = self.directory / f"{self.count}.eml"
        path.with_suffix(".tmp").write_bytes(envelope.original_content or envelope.content)
        path.with_suffix(".tmp").rename(path)
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"keiko" and auth_data.password == b"s3cret-pw"
    return AuthResult(success=ok, handled=False)


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    controller = Controller(
        Sink(directory),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
