"""Every channel against a real server started by the test: what arrives, exactly, and what
the receipts and dead letters say. The sink runs in-process on the real broker."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from connectors.answers.tokens import AnswersSettings, AnswerTokens
from connectors.base import Sink
from connectors.base.delivery import DeliverySettings
from connectors.base.runner import SinkRunner
from connectors.email import EmailSink, SmtpSettings
from connectors.messages import Templates
from connectors.slack import SlackSettings, SlackSink
from connectors.sms import SmsSettings, SmsSink
from connectors.teams import TeamsSettings, TeamsSink
from connectors.webhook import WebhookSettings, WebhookSink
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import Channel, DeadLetter, DeliveryReceipt, Language, Notification, Outcome
from schemas.notification import NotificationKind
from tests.support.notifications import notification
from tests.support.receivers import HttpReceiver, SmtpReceiver, self_signed_certificate
from tools.kafka import TopicReader, produce

SECRET = "channel-test-answer-link-key-0123456789ab"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"channel-test-webhook-signing-key").decode()
TOKENS = AnswerTokens(AnswersSettings(secret=SECRET))
FAST = DeliverySettings(retry_initial_s=0.05, retry_max_s=0.3, receipts_timeout_s=10)


def templates() -> Templates:
    return Templates(tokens=TOKENS)


def run_sink(
    kafka: KafkaSettings,
    sink: Sink,
    channel: Channel,
    done: Callable[[], bool],
    settings: DeliverySettings = FAST,
    timeout: float = 30.0,
    settle: float = 0.5,
) -> SinkRunner:
    """Run the sink on ``notifications.<channel>`` until ``done()`` holds (then ``settle``
    seconds more, for anything that should not happen), or ``timeout``."""
    topic = Topics(kafka.topic_prefix).notifications(channel)
    runner = SinkRunner(sink, kafka, [topic], f"test-sink-{kafka.topic_prefix}", settings, channel)

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline and not task.done():
            await asyncio.sleep(0.05)
        await asyncio.sleep(settle)
        stop.set()
        await task

    asyncio.run(main())
    return runner


def send(kafka: KafkaSettings, *notes: Notification) -> None:
    for note in notes:
        topic = Topics(kafka.topic_prefix).notifications(note.channel)
        produce(kafka, topic, [note.model_dump_json()], key=note.notification_id)


def receipts(kafka: KafkaSettings, expected: int) -> list[DeliveryReceipt]:
    reader = TopicReader(kafka, [Topics(kafka.topic_prefix).notification_receipts])
    found = reader.poll_until(lambda m: len(m) >= expected, timeout=15, idle=0.3)
    return [DeliveryReceipt.model_validate_json(m.value() or b"") for m in found]


def dead_letters(kafka: KafkaSettings, channel: Channel, expected: int) -> list[bytes]:
    topic = Topics.dlq(Topics(kafka.topic_prefix).notifications(channel))
    found = TopicReader(kafka, [topic]).poll_until(lambda m: len(m) >= expected, timeout=15)
    return [m.value() or b"" for m in found]


def verify_links(urls: list[str], note: Notification) -> None:
    claims = [TOKENS.verify(urlsplit(url).path.rsplit("/", 1)[1]) for url in urls]
    assert [c.answer.value for c in claims] == ["accept", "not-now", "remind-later"]
    assert {(c.offer_id, c.person) for c in claims} == {(note.offer_id, note.recipient_ref)}


# ---------------------------------------------------------------- email


def smtp_settings(server: SmtpReceiver) -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1",
        port=server.port,
        security="none",
        from_address="kollegastotte@helseforetak.example",
    )


def test_email_arrives_as_text_and_html_with_a_message_id_from_the_key(
    kafka_factory: Callable[..., KafkaSettings],
) -> None:
    kafka = kafka_factory()
    note = notification(Channel.EMAIL)
    send(kafka, note)
    with SmtpReceiver() as server:
        run_sink(
            kafka,
            EmailSink(smtp_settings(server), templates()),
            Channel.EMAIL,
            lambda: len(server.messages) >= 1,
        )
    (message,) = server.messages
    assert message["To"] == "kari@sykehus.example"
    assert message["From"] == "Kollegastøtte <kollegastotte@helseforetak.example>"
    assert message["Subject"] == "Tilbud om en samtale med en kollega"
    assert message["Message-ID"] == f"<{note.notification_id}@helseforetak.example>"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    plain, markup = text.get_content(), html.get_content()
    assert "Hei Kari Nordmann" in plain and "frivillig" in plain and "fortrolig" in plain
    assert "<strong>frivillig</strong>" in markup
    links = [line.split(": ", 1)[1] for line in plain.splitlines() if "/a/" in line]
    verify_links(links, note)
    (receipt,) = receipts(kafka, 1)
    assert (receipt.notification_id, receipt.outcome, receipt.attempt) == (
        note.notification_id,
        Outcome.DELIVERED,
        1,
    )


def test_an_internationalised_domain_reaches_a_server_without_smtputf8(
    kafka_factory: Callable[..., KafkaSettings],
) -> None:
    kafka = kafka_factory()
    send(kafka, notification(Channel.EMAIL, address="kari@helse-sør.no"))
    with SmtpReceiver() as server:
        run_sink(
            kafka,
            EmailSink(smtp_settings(server), templates()),
            Channel.EMAIL,
            lambda: len(server.messages) >= 1,
        )
    (message,) = server.messages
    assert message["To"] == "kari@xn--helse-sr-c5a.no"


def test_smtp_550_dead_letters_at_once_and_451_is_retried(
    kafka_factory: Callable[..., KafkaSettings],
) -> None:
    kafka = kafka_factory(partitions=1)
    refused = notification(Channel.EMAIL, address="refuse@sykehus.example")
    deferred = notification(Channel.EMAIL, address="later@sykehus.example")
    send(kafka, refused, deferred)
    with SmtpReceiver(deferrals=2) as server:
        run_sink(
            kafka,
            EmailSink(smtp_settings(server), templates()),
            Channel.EMAIL,
            lambda: len(server.messages) >= 1,
        )
    assert [m["To"] for m in server.messages] == ["later@sykehus.example"]
    (letter,) = dead_letters(kafka, Channel.EMAIL, 1)
    parsed = DeadLetter.model_validate_json(letter)
    assert parsed.reason.value == "refused" and parsed.notification_id == refused.notification_id
    assert b"refuse@" not in letter and b"Kari" not in letter and b"frivillig" not in letter
    found = receipts(kafka, 4)
    of_refused = [r for r in found if r.notification_id == refused.notification_id]
    assert [(r.outcome, r.reason, r.status) for r in of_refused] == [
        (Outcome.FAILED_PERMANENTLY, "smtp-refused", 550)
    ]
    of_deferred = [
        (r.outcome, r.status) for r in found if r.notification_id == deferred.notification_id
    ]
    assert of_deferred == [
        (Outcome.RETRYING, 451),
        (Outcome.RETRYING, 451),
        (Outcome.DELIVERED, None),
    ]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning")
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_email_over_starttls_or_implicit_tls_with_login(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path, security: str
) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make the test server's certificate")
    kafka = kafka_factory()
    note = notification(Channel.EMAIL)
    send(kafka, note)
    cert, key = self_signed_certificate(tmp_path)
    receiver = SmtpReceiver(
        security=security, certificate=(cert, key), credentials=("bridge", "s3cret-pw")
    )
    with receiver as server:
        settings = SmtpSettings(
            host="127.0.0.1",
            port=server.port,
            security=security,
            username=SecretStr("bridge"),
            password=SecretStr("s3cret-pw"),
            ca_file=cert,  # verified against its own CA, not with checks switched off
            from_address="kollegastotte@helseforetak.example",
        )
        run_sink(
            kafka,
            EmailSink(settings, templates()),
            Channel.EMAIL,
            lambda: len(server.messages) >= 1,
        )
    assert server.logins == ["bridge"]
    assert [m["Message-ID"] for m in server.messages] == [
        f"<{note.notification_id}@helseforetak.example>"
    ]


# ---------------------------------------------------------------- HTTP channels


def test_teams_receives_an_adaptive_card_in_a_message_envelope(
    kafka_factory: Callable[..., KafkaSettings],
) -> None:
    kafka = kafka_factory()
    note = notification(Channel.TEAMS, language=Language.EN)
    send(kafka, note)
    with HttpReceiver() as server:
        sink = TeamsSink(TeamsSettings(workflow_url=SecretStr(server.url)), templates())
        run_sink(kafka, sink, Channel.TEAMS, lambda: len(server.delivered()) >= 1)
    (request,) = server.requests
    assert request.method == "POST" and request.path == "/hook/secret-part"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    assert body["type"] == "message" and body["recipient"] == "kari@sykehus.example"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["body"][0] == {
        "type": "TextBlock",
        "text": "An offer of a conversation with a colleague",
        "weight": "Bolder",
        "size": "Medium",
        "wrap": True,
    }
    texts = " ".join(block["text"] for block in card["body"])
    assert "voluntary" in texts and "confidential" in texts and "not treatment" in texts
    assert "/a/" not in texts  # links are buttons, not text
    actions = card["actions"]
    assert [a["type"] for a in actions] == ["Action.OpenUrl"] * 3
    assert [a["title"] for a in actions] == ["Yes, please", "Not now", "Remind me later"]
    verify_links([a["url"] for a in actions], note)


def test_slack_receives_block_kit_with_answer_buttons(
    kafka_factory: Callable[..., KafkaSettings],
) -> None:
    kafka = kafka_factory()
    note = notification(Channel.SLACK)
    send(kafka, note)
    with HttpReceiver() as server:
        sink = SlackSink(SlackSettings(webhook_url=SecretStr(server.url)), templates())
        run_sink(kafka, sink, Channel.SLACK, lambda: len(server.delivered()) >= 1)
    body = json.loads(server.requests[0].body)
    assert body["text"] == "Tilbud om en samtale med en kollega"
    blocks = body["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "Tilbud om en samtale med en kollega",
            "emoji": False,
        },
    }
    sections = [b for b in blocks if b["type"] == "section"]
    assert all(s["text"]["type"] == "mrkdwn" for s in sections)
    assert any("frivillig" in s["text"]["text"] for s in sections)
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == ["accept", "not-now", "remind-later"]
    assert actions["elements"][0]["style"] == "primary"
    assert [e["text"]["text"] for e in actions["elements"]] == [
        "Ja takk",
        "Ikke nå",
        "Minn meg på det senere",
    ]
    verify_links([e["url"] for e in actions["elements"]], note)


def test_slack_is_held_to_about_one_message_a_second(
    kafka_factory: Callable[..., KafkaSettings],
) -> None:
    kafka = kafka_factory(partitions=1)
    send(kafka, *(notification(Channel.SLACK) for _ in range(3)))
    with HttpReceiver() as server:
        sink = SlackSink(SlackSettings(webhook_url=SecretStr(server.url)), templates())
        run_sink(kafka, sink, Channel.SLACK, lambda: len(server.delivered()) >= 3, settle=0)
    times = [r.at for r in server.requests]
    assert len(times) == 3
    assert times[2] - times[0] >= 1.8


def test_sms_gateway_gets_the_configured_request_shape(
    kafka_factory: Callable[..., KafkaSettings],
) -> None:
    kafka = kafka_factory()
    note = notification(Channel.SMS)
    send(kafka, note)
    with HttpReceiver() as server:
        settings = SmsSettings(
            gateway_url=SecretStr(server.url),
            method="PUT",
            headers=SecretStr('{"Authorization": "Bearer gateway-token"}'),
            body_template=(
                "to={{ to|urlencode }}&msg={{ text|urlencode }}&ref={{ notification_id }}"
            ),
            content_type="application/x-www-form-urlencoded",
        )
        run_sink(
            kafka, SmsSink(settings, templates()), Channel.SMS, lambda: len(server.delivered()) >= 1
        )
    (request,) = server.requests
    assert request.method == "PUT"
    assert request.headers["Authorization"] == "Bearer gateway-token"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    from urllib.parse import parse_qs

    form = parse_qs(request.body.decode())
    assert form["to"] == ["+4791234567"] and form["ref"] == [note.notification_id]
    assert "frivillig" in form["msg"][0]
    verify_links(
        [line.split(": ", 1)[1] for line in form["msg"][0].splitlines() if "/a/" in line], note
    )


def test_sms_default_body_is_json(kafka_factory: Callable[..., KafkaSettings]) -> None:
    kafka = kafka_factory()
    note = notification(Channel.SMS)
    send(kafka, note)
    with HttpReceiver() as server:
        sink = SmsSink(SmsSettings(gateway_url=SecretStr(server.url)), templates())
        run_sink(kafka, sink, Channel.SMS, lambda: len(server.delivered()) >= 1)
    body = json.loads(server.requests[0].body)
    assert body["to"] == "+4791234567" and body["reference"] == note.notification_id
    assert body["from"] == "Kollegastotte" and "frivillig" in body["message"]


def test_webhook_posts_a_signed_structured_cloudevent(
    kafka_factory: Callable[..., KafkaSettings],
) -> None:
    kafka = kafka_factory()
    note = notification(Channel.WEBHOOK, kind=NotificationKind.HANDOFF)
    send(kafka, note)
    with HttpReceiver() as server:
        settings = WebhookSettings(url=SecretStr(server.url), secret=SecretStr(WEBHOOK_SECRET))
        run_sink(
            kafka,
            WebhookSink(settings, templates()),
            Channel.WEBHOOK,
            lambda: len(server.delivered()) >= 1,
        )
    (request,) = server.requests
    assert request.headers["Content-Type"] == "application/cloudevents+json; charset=utf-8"
    event = json.loads(request.body)
    assert {
        k: event[k] for k in ("specversion", "id", "source", "type", "subject", "datacontenttype")
    } == {
        "specversion": "1.0",
        "id": note.notification_id,
        "source": "urn:peer-support-bridge",
        "type": "no.peer-support-bridge.notification.handoff",
        "subject": "emp-1001",
        "datacontenttype": "application/json",
    }
    assert event["time"] == "2026-11-23T12:00:00+00:00"
    data = event["data"]
    assert data["links"] is None  # a hand-off goes to a supporter: nothing to answer
    assert "Per Hansen" in data["text"] and "+4798765432" in data["text"]
    assert "sjukepleiar" not in data["text"] and "sykepleier" in data["text"]
    # the receiver's check, with the Standard Webhooks library and the same whsec_ secret
    assert request.headers["webhook-id"] == note.notification_id
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert request.headers["webhook-signature"].startswith("v1,")
    Webhook(WEBHOOK_SECRET).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(WEBHOOK_SECRET).verify(request.body + b" ", request.headers)


# ---------------------------------------------------------------- outages and refusals


def test_an_outage_delays_but_neither_loses_nor_doubles(
    kafka_factory: Callable[..., KafkaSettings],
) -> None:
    kafka = kafka_factory(partitions=1)
    notes = [notification(Channel.WEBHOOK) for _ in range(3)]
    send(kafka, *notes)
    with HttpReceiver() as server:
        server.script = [(429, {"Retry-After": "1"}), (503, {}), (503, {}), (502, {}), (500, {})]
        settings = WebhookSettings(url=SecretStr(server.url))
        started = time.monotonic()
        run_sink(
            kafka,
            WebhookSink(settings, templates()),
            Channel.WEBHOOK,
            lambda: len(server.delivered()) >= 3,
            settle=1.5,
        )
    arrived = [json.loads(r.body)["id"] for r in server.delivered()]
    assert sorted(arrived) == sorted(n.notification_id for n in notes)  # each exactly once
    assert [r.status for r in server.requests[:5]] == [429, 503, 503, 502, 500]
    assert time.monotonic() - started >= 1.0  # Retry-After was honoured
    found = receipts(kafka, 8)
    retrying = [r for r in found if r.outcome is Outcome.RETRYING]
    assert [(r.reason, r.status) for r in retrying] == [
        ("rate-limited", 429),
        ("server-error", 503),
        ("server-error", 503),
        ("server-error", 502),
        ("server-error", 500),
    ]
    assert retrying[0].retry_in_s is not None and retrying[0].retry_in_s >= 1.0
    delivered = [r for r in found if r.outcome is Outcome.DELIVERED]
    assert sorted(r.notification_id for r in delivered) == sorted(arrived)
    assert max(r.attempt for r in delivered) == 6


def test_a_refused_connection_is_retried_until_the_server_is_back(
    kafka_factory: Callable[..., KafkaSettings],
) -> None:
    kafka = kafka_factory(partitions=1)
    note = notification(Channel.TEAMS)
    send(kafka, note)
    server = HttpReceiver()  # not listening until after the first attempt
    timer = threading.Timer(0.5, server.__enter__)

    class FirstAttemptStartsTheServer(TeamsSink):
        async def deliver(self, notification: Notification) -> None:
            try:
                await super().deliver(notification)
            finally:
                if not timer.is_alive() and not timer.finished.is_set():
                    timer.start()

    sink = FirstAttemptStartsTheServer(
        TeamsSettings(workflow_url=SecretStr(server.url)), templates()
    )
    try:
        run_sink(kafka, sink, Channel.TEAMS, lambda: len(server.delivered()) >= 1)
    finally:
        timer.join()
        server.__exit__()
    assert len(server.delivered()) == 1
    reasons = [r.reason for r in receipts(kafka, 2) if r.outcome is Outcome.RETRYING]
    assert reasons and set(reasons) == {"connection"}


def test_a_400_dead_letters_at_once_with_no_body(
    kafka_factory: Callable[..., KafkaSettings],
) -> None:
    kafka = kafka_factory(partitions=1)
    bad, good = notification(Channel.WEBHOOK), notification(Channel.WEBHOOK)
    send(kafka, bad, good)
    with HttpReceiver() as server:
        server.script = [(400, {})]
        settings = WebhookSettings(url=SecretStr(server.url))
        run_sink(
            kafka,
            WebhookSink(settings, templates()),
            Channel.WEBHOOK,
            lambda: len(server.delivered()) >= 1,
        )
    assert [json.loads(r.body)["id"] for r in server.requests] == [
        bad.notification_id,
        good.notification_id,
    ]  # no retry of the refused one
    (letter,) = dead_letters(kafka, Channel.WEBHOOK, 1)
    parsed = DeadLetter.model_validate_json(letter)
    assert parsed.notification_id == bad.notification_id and parsed.reason.value == "refused"
    assert set(json.loads(letter)) <= {
        "type",
        "version",
        "source_topic",
        "partition",
        "offset",
        "reason",
        "field_path",
        "detected_format",
        "notification_id",
        "recorded_at",
    }
    assert b"emp-1001" not in letter and b"Kari" not in letter
    refused = [r for r in receipts(kafka, 2) if r.notification_id == bad.notification_id]
    assert [(r.outcome, r.reason, r.status, r.attempt) for r in refused] == [
        (Outcome.FAILED_PERMANENTLY, "client-error", 400, 1)
    ]
