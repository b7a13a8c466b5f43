"""Real channels for ``peer-support demo``: a local SMTP server (aiosmtpd) and a local HTTP
endpoint (aiohttp), with the email and webhook sinks delivering to them as in production.

The demo prints what arrived there: each email's recipient, subject and Message-ID, each
CloudEvent's type, id and whether its signature verifies, and one email in full, so the
wording people receive can be read. The sinks seal answer links with the demo's answers
settings, so those links open on the demo's own answers endpoint.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import SecretStr

from connectors.answers.tokens import AnswersSettings
from connectors.base.delivery import DeliverySettings
from connectors.base.runner import SinkRunner
from connectors.email import EmailSink, SmtpSettings
from connectors.messages import Templates
from connectors.webhook import WebhookSettings, WebhookSink
from runtime.broker import free_port
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import Channel

if TYPE_CHECKING:
    from aiosmtpd.smtp import SMTP, Envelope, Session

CHANNELS = (Channel.EMAIL, Channel.WEBHOOK)


@dataclass
class Arrived:
    emails: list[EmailMessage] = field(default_factory=list)
    events: list[tuple[dict[str, Any], bool]] = field(default_factory=list)


class _Mailbox:
    def __init__(self, arrived: Arrived) -> None:
        self.arrived = arrived

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        if isinstance(message, EmailMessage):
            self.arrived.emails.append(message)
        return "250 Message accepted"


class LocalChannels:
    """Start with ``async with``; :attr:`arrived` fills as the sinks deliver."""

    def __init__(self, kafka: KafkaSettings, topics: Topics, answers: AnswersSettings) -> None:
        from aiosmtpd.controller import Controller  # the demo extra, not in production

        self.kafka = kafka
        self.topics = topics
        self.answers = answers
        self.arrived = Arrived()
        self._signing_key = secrets.token_hex(32)
        self._smtp = Controller(_Mailbox(self.arrived), hostname="127.0.0.1", port=free_port())
        self._http_port = free_port()
        self._web: web.AppRunner | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        signed = f"{request.headers.get('webhook-id')}.{request.headers.get('webhook-timestamp')}."
        digest = hmac.new(self._signing_key.encode(), signed.encode() + body, hashlib.sha256)
        expected = "v1," + base64.b64encode(digest.digest()).decode()
        valid = hmac.compare_digest(expected, request.headers.get("webhook-signature", ""))
        self.arrived.events.append((json.loads(body), valid))
        return web.Response(status=202)

    async def __aenter__(self) -> LocalChannels:
        self._smtp.start()
        app = web.Application()
        app.router.add_post("/events", self._receive)
        self._web = web.AppRunner(app, access_log=None)
        await self._web.setup()
        await web.TCPSite(self._web, "127.0.0.1", self._http_port).start()
        templates = Templates.from_settings(_no_override(), self.answers)
        sinks = {
            Channel.EMAIL: EmailSink(
                SmtpSettings(
                    host="127.0.0.1",
                    port=self._smtp.port,
                    security="none",
                    from_address="kollegastotte@helseforetak.example",
                ),
                templates,
            ),
            Channel.WEBHOOK: WebhookSink(
                WebhookSettings(
                    url=SecretStr(f"http://127.0.0.1:{self._http_port}/events"),
                    secret=SecretStr(self._signing_key),
                ),
                templates,
            ),
        }
        delivery = DeliverySettings(retry_initial_s=0.2, retry_max_s=2)
        for channel, sink in sinks.items():
            runner = SinkRunner(
                sink,
                self.kafka,
                [self.topics.notifications(channel)],
                group_id=f"demo-{channel.value}",
                settings=delivery,
                channel=channel,
            )
            self._tasks.append(asyncio.create_task(runner.run(self._stop)))
        return self

    async def __aexit__(self, *_: object) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        if self._web is not None:
            await self._web.cleanup()
        self._smtp.stop()

    @property
    def smtp_port(self) -> int:
        return int(self._smtp.port)

    @property
    def http_port(self) -> int:
        return self._http_port

    def report(self) -> list[str]:
        lines = [f"arrived at the local SMTP server (127.0.0.1:{self.smtp_port}):"]
        for mail in self.arrived.emails:
            lines.append(f"  mail to {mail['To']}  «{mail['Subject']}»  {mail['Message-ID']}")
        lines.append(f"arrived at the local HTTP endpoint (127.0.0.1:{self.http_port}/events):")
        for event, valid in self.arrived.events:
            lines.append(
                f"  CloudEvent {event['type']} for {event['subject']} id={event['id']} "
                f"signature {'verified' if valid else 'WRONG'}"
            )
        return lines

    def example_email(self) -> list[str]:
        """The first offer in Bokmål that arrived, as its recipient reads it; or nothing."""
        offers = [m for m in self.arrived.emails if str(m["Subject"]).startswith("Tilbud om")]
        body = offers[0].get_body(("plain",)) if offers else None
        if not isinstance(body, EmailMessage):
            return []
        lines = ["", f"one email as {offers[0]['To']} reads it:", ""]
        return lines + [f"    {line}" for line in str(body.get_content()).splitlines()]


def _no_override() -> Any:
    from connectors.messages import TemplateSettings

    return TemplateSettings(dir=None)
