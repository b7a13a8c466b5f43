"""A generic webhook: CloudEvents 1.0 in structured mode, signed so the receiver can verify it.

The body is one CloudEvent (``Content-Type: application/cloudevents+json``) whose ``id`` is the
notification id, so a receiver can drop a redelivery. Its ``data`` holds the rendered message
and the routing a receiver needs to pass it on; nothing about the incident.

Signing follows the Standard Webhooks scheme: headers ``webhook-id`` (the notification id),
``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` = ``v1,`` + base64 of
HMAC-SHA256 over ``{id}.{timestamp}.{body}``. A receiver recomputes it and refuses stale
timestamps, which defeats forgery and replay. A ``whsec_`` secret is keyed with its decoded
bytes, as the Standard Webhooks libraries do, so a receiver can verify with one of them; any
other secret is keyed with its UTF-8 bytes, which receivers written by hand already use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import Any, Final, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from connectors.base import http
from connectors.messages import RenderedMessage, Templates
from runtime.settings import PsbSettings
from schemas import Channel, Notification

CONTENT_TYPE: Final = "application/cloudevents+json; charset=utf-8"
TYPE_PREFIX: Final = "no.peer-support-bridge.notification."
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 (a prefix, not a secret)
MIN_KEY_BYTES: Final = 24  # the Standard Webhooks specification's lower bound
MIN_RAW_CHARACTERS: Final = 32


class WebhookSettings(PsbSettings):
    """The receiver of CloudEvents and the key that signs them."""

    model_config = SettingsConfigDict(env_prefix="PSB_WEBHOOK_", frozen=True, extra="ignore")

    url: SecretStr = Field(description="URL the CloudEvents are posted to (secret).")
    secret: SecretStr | None = Field(
        None,
        description="Key signing each request (secret): recommended a Standard Webhooks "
        f"secret, 'whsec_' and base64 of at least {MIN_KEY_BYTES} random bytes; else at least "
        f"{MIN_RAW_CHARACTERS} characters used as they are. Unsigned when unset.",
    )
    source: str = Field(
        "urn:peer-support-bridge", description="CloudEvents source attribute of the events."
    )
    timeout_s: float = Field(15.0, gt=0, le=300, description="HTTP timeout, seconds.")

    @model_validator(mode="after")
    def _usable_key(self) -> Self:
        """Refused at start, not at the first request: a key no receiver could check makes
        every delivery fail, late and one by one."""
        if self.secret is not None:
            signing_key(self.secret.get_secret_value())
        return self

    def key(self) -> bytes | None:
        return signing_key(self.secret.get_secret_value()) if self.secret is not None else None


def signing_key(secret: str) -> bytes:
    """The HMAC key of ``PSB_WEBHOOK_SECRET``; the messages never quote the secret."""
    if not secret.startswith(SECRET_PREFIX):
        if len(secret) < MIN_RAW_CHARACTERS:
            raise ValueError(
                f"PSB_WEBHOOK_SECRET must be at least {MIN_RAW_CHARACTERS} characters, or "
                f"(recommended) 'whsec_' and the base64 of at least {MIN_KEY_BYTES} random bytes"
            )
        return secret.encode()
    encoded = secret.removeprefix(SECRET_PREFIX).strip()  # a Secret's trailing line break
    try:  # padding is optional, as in the Standard Webhooks libraries
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "PSB_WEBHOOK_SECRET starts with 'whsec_' but the rest is not base64: "
            "set 'whsec_' and the base64 of random bytes"
        ) from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"PSB_WEBHOOK_SECRET must encode at least {MIN_KEY_BYTES} bytes after 'whsec_'"
        )
    return key


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
        self._key = settings.key()

    def request(
        self, notification: Notification, now: float | None = None
    ) -> tuple[bytes, dict[str, str]]:
        rendered = self.templates.render(notification)
        body = http.json_bytes(cloud_event(notification, rendered, self.settings.source))
        headers = {"Content-Type": CONTENT_TYPE}
        if self._key is not None:
            timestamp = int(now if now is not None else time.time())
            headers |= {
                "webhook-id": notification.notification_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signature(
                    self._key, notification.notification_id, timestamp, body
                ),
            }
        return body, headers

    async def deliver(self, notification: Notification) -> None:
        body, headers = self.request(notification)
        await self.post(
            self.settings.url.get_secret_value(),
            body,
            headers,
        )
