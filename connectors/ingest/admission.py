"""Admitting a POST: who calls, how often, and only then its body.

The order is the defence against an outsider. Credentials are read from the headers before
any of the body. A request not authenticated by its headers (no credential, a wrong one, or
a signature still to be checked) spends its client address's allowance for such traffic,
which no credential shares, so an outsider cannot use up a reporting system's allowance. A
signed request must have its body read before it can be checked: such bodies share a small
budget (:class:`BodyBudget`) and a deadline, and once the signature holds, the request moves
to its credential's allowance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aiohttp import web
from aiohttp.http import HttpVersion11

from connectors.ingest.auth import BEARER, Authenticator
from connectors.ingest.bodies import BodyBudget, declared_size, read_body
from connectors.ingest.forwarded import client_address
from connectors.ingest.problems import Problem
from connectors.ingest.ratelimit import RateLimiter
from connectors.ingest.settings import IngestSettings

CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"


@dataclass(frozen=True)
class Admitted:
    """A request allowed in, with its body and, for a webhook, the id it claimed."""

    body: bytes
    webhook_id: str | None = None


class Gate:
    def __init__(self, settings: IngestSettings, auth: Authenticator) -> None:
        self.auth = auth
        self.settings = settings
        self.proxies = settings.proxies
        self.credentials = RateLimiter(settings.rate_per_second, settings.rate_burst)
        self.strangers = RateLimiter(
            settings.unauthenticated_rate_per_second, settings.unauthenticated_burst
        )
        self.unverified = BodyBudget(
            settings.unverified_bodies, settings.unverified_bytes, settings.retry_after_s
        )

    async def admit(self, request: web.BaseRequest) -> Admitted:
        client = client_address(
            request.remote, request.headers.getall("X-Forwarded-For", []), self.proxies
        )
        try:
            screened = self.auth.screen(request.headers)
        except Problem:
            _spend(self.strangers, client)  # a 429 instead, once the address is out
            raise
        if screened.authenticated:
            _spend(self.credentials, BEARER)
        else:
            _spend(self.strangers, client)
        _identity_encoding(request)
        size = declared_size(request, self.settings.max_body_bytes)
        if screened.authenticated or not screened.pending:
            body = await self._read(request)
            self.auth.verify(screened, body)
        else:
            with self.unverified.hold(size):
                body = await self._read(request)
                self.auth.verify(screened, body)
            self.strangers.refund(client)
            _spend(self.credentials, screened.credential or "")
        return Admitted(body, self.auth.claim(screened))

    def release(self, admitted: Admitted) -> None:
        """The request was not a success: its sender may send the same webhook again."""
        if admitted.webhook_id is not None and self.auth.webhook is not None:
            self.auth.webhook.replays.release(admitted.webhook_id)

    async def _read(self, request: web.BaseRequest) -> bytes:
        await _continue(request)
        return await read_body(request, self.settings.max_body_bytes, self.settings.body_timeout_s)


def _spend(limiter: RateLimiter, key: str) -> None:
    wait = limiter.acquire(key)
    if wait:
        raise Problem(429, "rate-limited", headers={"Retry-After": RateLimiter.retry_after(wait)})


def _identity_encoding(request: web.BaseRequest) -> None:
    """Compressed bodies are refused: a few kilobytes may inflate to gigabytes."""
    if request.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
        raise Problem(415, "unsupported-media-type", "Content-Encoding")


async def _continue(request: web.BaseRequest) -> None:
    """The ``100 Continue`` a client waits for before sending its body, sent only now that
    the headers passed (the routes' expect handler defers it to here)."""
    expect = request.headers.get("Expect", "")
    if request.version == HttpVersion11 and expect.lower() == "100-continue":
        await request.writer.write(CONTINUE)
        request.writer.output_size = 0  # as aiohttp's own handler: no response started yet
