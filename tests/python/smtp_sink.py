"""A real SMTP server (aiosmtpd) for the notification tests: listens on 127.0.0.1:PORT,
accepts AUTH PLAIN/LOGIN for keiko / s3cret-pw, and writes every message it receives to
DIR/<n>.eml. MODE `none` (default) speaks plain SMTP; `starttls` offers and requires
STARTTLS; `tls` is TLS from the first byte. The TLS modes take CERT and KEY. Runs until
killed."""

import ssl
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
    mode = sys.argv[3] if len(sys.argv) > 3 else "none"
    options = {"authenticator": authenticator, "auth_require_tls": mode == "starttls"}
    if mode != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[4], sys.argv[5])
        if mode == "starttls":
            options.update(tls_context=context, require_starttls=True)
        else:
            options.update(ssl_context=context)
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port, **options)
    controller.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
