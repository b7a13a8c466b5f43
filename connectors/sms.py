"""SMS through a generic HTTP gateway whose request shape is configuration.

Norwegian trusts use different gateways, so URL, method, headers and a body template are
settings. The body template is a sandboxed Jinja template that sees ``to`` (E.164 number),
``text`` (the message, with its answer links), ``notification_id`` (for the gateway's
idempotency or reference field) and ``sender``, with ``tojson`` and ``urlencode`` filters for
JSON and form bodies. It is checked at start-up.
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from connectors.base import http
from connectors.messages import BrokenTemplateError, Templates
from runtime.settings import PsbSettings
from schemas import Channel, Notification

DEFAULT_BODY: Final = (
    '{"to": {{ to|tojson }}, "from": {{ sender|tojson }}, "message": {{ text|tojson }}, '
    '"reference": {{ notification_id|tojson }}}'
)


class SmsSettings(PsbSettings):
    """The HTTP SMS gateway and the shape of its requests."""

    model_config = SettingsConfigDict(env_prefix="PSB_SMS_", frozen=True, extra="ignore")

    gateway_url: SecretStr = Field(description="URL of the SMS gateway's send endpoint (secret).")
    method: Literal["POST", "PUT"] = Field("POST", description="HTTP method of a send request.")
    headers: SecretStr | None = Field(
        None,
        description='Request headers as a JSON object, e.g. {"Authorization": "Bearer ..."} '
        "(secret).",
    )
    body_template: str = Field(
        DEFAULT_BODY,
        description="Jinja template of the request body; sees to, text, notification_id, sender.",
    )
    content_type: str = Field("application/json", description="Content-Type of the body.")
    sender: str = Field("Kollegastotte", description="Sender name or number shown to people.")
    timeout_s: float = Field(15.0, gt=0, le=300, description="HTTP timeout, seconds.")


class SmsSink(http.HttpSink):
    channels = frozenset({Channel.SMS})

    def __init__(self, settings: SmsSettings, templates: Templates) -> None:
        super().__init__(templates)
        self.settings = settings
        env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        try:
            self._body = env.from_string(settings.body_template)
            self._headers = self._parse_headers(settings.headers)
        except TemplateError as exc:
            raise BrokenTemplateError(f"PSB_SMS_BODY_TEMPLATE is broken: {exc.message}") from None
        self.timeout_s = settings.timeout_s

    @staticmethod
    def _parse_headers(headers: SecretStr | None) -> dict[str, str]:
        if headers is None:
            return {}
        try:
            parsed = json.loads(headers.get_secret_value())
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
        ):
            raise ValueError("PSB_SMS_HEADERS must be a JSON object of strings")
        return parsed

    def body(self, notification: Notification, text: str) -> bytes:
        values: dict[str, Any] = {
            "to": notification.address,
            "text": text,
            "notification_id": notification.notification_id,
            "sender": self.settings.sender,
        }
        return self._body.render(values).encode()

    async def setup(self) -> None:
        await super().setup()
        sample = next(iter(self._samples()))
        try:
            self.body(sample, "check")
        except TemplateError as exc:
            raise BrokenTemplateError(f"PSB_SMS_BODY_TEMPLATE is broken: {exc.message}") from None

    @staticmethod
    def _samples() -> list[Notification]:
        from connectors.messages import sample_notifications

        return [
            n.model_copy(update={"channel": Channel.SMS, "address": "+4791234567"})
            for n in sample_notifications()[:1]
        ]

    async def deliver(self, notification: Notification) -> None:
        text = self.templates.render(notification).text
        await self.post(
            self.settings.gateway_url.get_secret_value(),
            self.body(notification, text),
            {"Content-Type": self.settings.content_type, **self._headers},
            method=self.settings.method,
        )
