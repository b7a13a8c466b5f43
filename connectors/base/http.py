"""Sending one HTTP request for a sink, and sorting what went wrong into retry or refuse.

Transient: timeouts, connection errors, 408, 429 (with its ``Retry-After``), 5xx.
Permanent: every other 4xx, and redirects (a webhook URL that moved is a configuration error).
Errors carry a reason code and the status only; URLs hold secrets and are never shown.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import httpx
from pydantic import SecretStr

from connectors.base.exceptions import PermanentDeliveryError, TransientDeliveryError
from connectors.messages import RenderedMessage, TemplatedSink, Templates
from runtime.clock import utc_now
from schemas import DeliveryReason, Notification

USER_AGENT: Final = "peer-support-bridge"


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or utc_now())).total_seconds())


def classify(response: httpx.Response) -> None:
    """Return for 2xx, raise the fitting delivery error otherwise."""
    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 429:
        raise TransientDeliveryError(
            DeliveryReason.RATE_LIMITED, status, retry_after_s(response.headers.get("retry-after"))
        )
    if status == 408:
        raise TransientDeliveryError(DeliveryReason.REQUEST_TIMEOUT, status)
    if status >= 500:
        raise TransientDeliveryError(
            DeliveryReason.SERVER_ERROR, status, retry_after_s(response.headers.get("retry-after"))
        )
    raise PermanentDeliveryError(DeliveryReason.CLIENT_ERROR, status)


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
) -> httpx.Response:
    """One request; the response when 2xx, else a delivery error with no URL in it."""
    try:
        response = await client.request(
            method, url, content=content, headers={"User-Agent": USER_AGENT, **headers}
        )
    except httpx.TimeoutException:
        raise TransientDeliveryError(DeliveryReason.TIMEOUT) from None
    except httpx.TransportError:
        raise TransientDeliveryError(DeliveryReason.CONNECTION) from None
    classify(response)
    return response


def client(timeout_s: float) -> httpx.AsyncClient:
    """A client that follows no redirects (a moved webhook is refused, not followed blindly)."""
    return httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)


def json_bytes(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


class HttpSink(TemplatedSink):
    """A templated sink that sends over one HTTP client, opened in ``setup``."""

    timeout_s: float = 15.0

    def __init__(self, templates: Templates) -> None:
        super().__init__(templates)
        self._client: httpx.AsyncClient | None = None

    async def setup(self) -> None:
        await super().setup()
        self._client = client(self.timeout_s)

    async def post(
        self, url: str, content: bytes, headers: dict[str, str], method: str = "POST"
    ) -> None:
        if self._client is None:
            raise RuntimeError("setup() was not called")
        await send(self._client, method, url, content=content, headers=headers)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class JsonPostSink(HttpSink):
    """Posts one JSON document per message to a URL kept secret (it carries the credential):
    a Teams workflow trigger, a Slack incoming webhook."""

    def __init__(self, templates: Templates, url: SecretStr, timeout_s: float) -> None:
        super().__init__(templates)
        self._url = url
        self.timeout_s = timeout_s

    @abstractmethod
    def document(self, notification: Notification, rendered: RenderedMessage) -> object: ...

    async def deliver(self, notification: Notification) -> None:
        rendered = self.templates.render(notification, inline_links=False)
        await self.post(
            self._url.get_secret_value(),
            json_bytes(self.document(notification, rendered)),
            {"Content-Type": "application/json"},
        )
