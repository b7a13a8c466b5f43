"""Real receivers for the channel tests: an SMTP server (aiosmtpd) and an HTTP server
(aiohttp), each on loopback in a thread of its own, recording what arrived.

Both can be told to fail: the HTTP server answers with the statuses in ``script`` first (then
200), the SMTP server refuses recipients whose address starts with ``refuse``.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from runtime.broker import free_port


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float = field(default_factory=time.monotonic)


class HttpReceiver:
    """An HTTP server recording every request; ``script`` holds (status, headers) answers to
    give first, in order; after them every request gets 200."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[Request] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        self.status_for: Callable[[bytes], int | None] = lambda _body: None
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook/secret-part"

    def delivered(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._lock:
            forced = self.status_for(body)
            status, headers = (
                (forced, {}) if forced else self.script.pop(0) if self.script else (200, {})
            )
            self.requests.append(
                Request(request.method, request.path, dict(request.headers), body, status)
            )
        return web.Response(status=status, headers=headers, text="ok" if status < 300 else "no")

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._runner = runner
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_: Any) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class _Recorder:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, _: list[str]
    ) -> str:
        if address.startswith("refuse"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("later") and self.receiver.deferrals > 0:
            self.receiver.deferrals -= 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.receiver.messages.append(message)
        return "250 Message accepted"


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command."""
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class SmtpReceiver:
    """aiosmtpd on loopback; addresses starting ``refuse`` get 550, ``later`` gets 451 for
    the first ``deferrals`` attempts. With ``security`` "starttls" or "tls" it speaks TLS with
    ``certificate`` (cert, key); with ``credentials`` it requires that login."""

    def __init__(
        self,
        deferrals: int = 0,
        security: str | None = None,
        certificate: tuple[Path, Path] | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.logins: list[str] = []
        self.deferrals = deferrals
        kwargs: dict[str, Any] = {}
        if security is not None:
            assert certificate is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(certificate[0]), str(certificate[1]))
            if security == "starttls":
                kwargs |= {"tls_context": context, "require_starttls": True}
            else:
                # aiosmtpd does not count implicit TLS as TLS for AUTH; the socket is TLS
                kwargs |= {
                    "ssl_context": context,
                    "server_hostname": "127.0.0.1",
                    "auth_require_tls": False,
                }
        if credentials is not None:

            def authenticate(
                server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
            ) -> AuthResult:
                login = (data.login.decode(), data.password.decode())
                if login == credentials:
                    self.logins.append(login[0])
                return AuthResult(success=login == credentials)

            kwargs |= {"authenticator": authenticate, "auth_required": True}
        self._controller = Controller(
            _Recorder(self), hostname="127.0.0.1", port=self.port, **kwargs
        )

    def __enter__(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._controller.stop()
