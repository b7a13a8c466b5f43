"""A generic webhook: CloudEvents 1.0 in structured mode, signed so the receiver can verify it.

The body is one CloudEvent (``Content-Type: application/cloudevents+json``) whose ``id`` is the
notification id, so a receiver can drop a redelivery. Its ``data`` holds the rendered message
and the routing a receiver needs to pass it on; nothing about the incident.

Signing follows the Standard Webhooks scheme: headers ``webhook-id`` (the notification id),
``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` = ``v1,`` + base64 of
HMAC-SHA256 over ``{id}.{timestamp}.{body}``, keyed with ``PSB_WEBHOOK_SECRET``'s UTF-8 bytes.
A receiver recomputes it and refuses stale timestamps, which defeats forgery and replay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any, Final

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from connectors.base import http
from connectors.messages import RenderedMessage, Templates
from runtime.settings import PsbSettings
from schemas import Channel, Notification

CONTENT_TYPE: Final = "application/cloudevents+json; charset=utf-8"
TYPE_PREFIX: Final = "no.peer-support-bridge.notification."


class WebhookSettings(PsbSettings):
    """The receiver of CloudEvents and the key that signs them."""

    model_config = SettingsConfigDict(env_prefix="PSB_WEBHOOK_", frozen=True, extra="ignore")

    url: SecretStr = Field(description="URL the CloudEvents are posted to (secret).")
    secret: SecretStr | None = Field(
        None,
        min_length=32,
        description="HMAC key (at least 32 bytes) signing each request (secret); unsigned "
        "when unset.",
    )
    source: str = Field(
        "urn:peer-support-bridge", description="CloudEvents source attribute of the events."
    )
    timeout_s: float = Field(15.0, gt=0, le=300, description="HTTP timeout, seconds.")


def cloud_event(
    notification: Notification, rendered: RenderedMessage, source: str
) -> dict[str, Any]:
    links = rendered.links
    return {
        "specversion": "1.0",
        "id": notification.notification_id,
        "source": source,
        "type": f"{TYPE_PREFIX}{notification.kind.value}",
        "subject": notification.address,
        "time": notification.created_at.isoformat(),
        "datacontenttype": "application/json",
        "data": {
            "notification_id": notification.notification_id,
            "offer_id": notification.offer_id,
            "kind": notification.kind.value,
            "recipient": notification.address,
            "recipient_ref": notification.recipient_ref,
            "display_name": notification.display_name,
            "language": notification.language.value,
            "profession": notification.profession.value,
            "subject": rendered.subject,
            "text": rendered.text,
            "html": rendered.html,
            "links": (
                {
                    "accept": links.accept,
                    "not_now": links.not_now,
                    "remind_later": links.remind_later,
                }
                if links is not None
                else None
            ),
        },
    }


def signature(secret: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class WebhookSink(http.HttpSink):
    channels = frozenset({Channel.WEBHOOK})

    def __init__(self, settings: WebhookSettings, templates: Templates) -> None:
        super().__init__(templates)
        self.settings = settings
        self.timeout_s = settings.timeout_s

    def request(
        self, notification: Notification, now: float | None = None
    ) -> tuple[bytes, dict[str, str]]:
        rendered = self.templates.render(notification)
        body = http.json_bytes(cloud_event(notification, rendered, self.settings.source))
        headers = {"Content-Type": CONTENT_TYPE}
        if self.settings.secret is not None:
            timestamp = int(now if now is not None else time.time())
            key = self.settings.secret.get_secret_value().encode()
            headers |= {
                "webhook-id": notification.notification_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signature(key, notification.notification_id, timestamp, body),
            }
        return body, headers

    async def deliver(self, notification: Notification) -> None:
        body, headers = self.request(notification)
        await self.post(
            self.settings.url.get_secret_value(),
            body,
            headers,
        )
