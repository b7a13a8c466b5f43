"""Reading a request body within bounds: its size, a deadline, and for bodies whose sender
is not yet known a budget they share.

A body is read into memory before its signature can be checked, so what such requests hold
together is capped (bodies and bytes): past the cap the answer is 503 at once, before a byte
is read, rather than a queue that would keep the connections open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from connectors.ingest.problems import Problem


class BodyBudget:
    def __init__(self, bodies: int, max_bytes: int, retry_after_s: int) -> None:
        self.bodies = bodies
        self.max_bytes = max_bytes
        self.retry_after_s = retry_after_s
        self.held_bodies = 0
        self.held_bytes = 0

    @contextmanager
    def hold(self, size: int) -> Iterator[None]:
        """Reserve ``size`` bytes for one body while it is read and checked."""
        if self.held_bodies >= self.bodies or self.held_bytes + size > self.max_bytes:
            raise Problem(503, "busy", headers={"Retry-After": str(self.retry_after_s)})
        self.held_bodies += 1
        self.held_bytes += size
        try:
            yield
        finally:
            self.held_bodies -= 1
            self.held_bytes -= size


def declared_size(request: web.BaseRequest, limit: int) -> int:
    """The bytes to reserve for the body: its Content-Length, else the limit (chunked); 413
    before reading when it declares more than the limit."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise Problem(413, "too-large")
    return limit if declared is None else declared


async def read_body(request: web.BaseRequest, limit: int, timeout_s: float) -> bytes:
    """The whole body, at most ``limit`` bytes, arrived within ``timeout_s``."""
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            while chunk := await request.content.readany():
                body += chunk
                if len(body) > limit:
                    raise Problem(413, "too-large")
    except TimeoutError:
        raise Problem(408, "body-timeout", headers={"Connection": "close"}) from None
    except (web.RequestPayloadError, ConnectionError):
        raise Problem(400, "incomplete-body", headers={"Connection": "close"}) from None
    return bytes(body)
