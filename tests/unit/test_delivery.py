"""Delivery rules of the sinks, one function at a time: back-off, Retry-After, which errors
are retried, the rate limit, and that secrets stay out of errors and reprs."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime

import aiosmtplib
import httpx
import pytest
from pydantic import SecretStr

from connectors.base.delivery import DeliverySettings, TokenBucket, backoff_s
from connectors.base.exceptions import PermanentDeliveryError, TransientDeliveryError
from connectors.base.http import classify, client, retry_after_s, send
from connectors.email import SmtpSettings, message_id, smtp_error
from connectors.webhook import WebhookSettings
from runtime.broker import free_port
from schemas import Channel


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    waits = [backoff_s(attempt, 1.0, 30.0, rng=rng) for attempt in range(1, 9)]
    for attempt, wait in enumerate(waits, start=1):
        ceiling = min(30.0, 2 ** (attempt - 1))
        assert ceiling / 2 <= wait <= ceiling
    assert max(waits) <= 30.0
    assert len({round(w, 6) for w in waits}) == len(waits)  # jittered, not lock-step


def test_retry_after_is_honoured_even_beyond_the_backoff_cap() -> None:
    assert backoff_s(1, 0.1, 0.5, retry_after=2.0) == 2.0
    assert backoff_s(1, 0.1, 0.5, retry_after=10**6) == 3600.0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert retry_after_s("7") == 7.0
    assert retry_after_s("Fri, 27 Nov 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_s("Fri, 27 Nov 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_s("soon") is None and retry_after_s(None) is None


@pytest.mark.parametrize(
    ("status", "headers", "expected", "reason"),
    [
        (408, {}, TransientDeliveryError, "request-timeout"),
        (429, {"Retry-After": "3"}, TransientDeliveryError, "rate-limited"),
        (500, {}, TransientDeliveryError, "server-error"),
        (503, {}, TransientDeliveryError, "server-error"),
        (400, {}, PermanentDeliveryError, "client-error"),
        (401, {}, PermanentDeliveryError, "client-error"),
        (404, {}, PermanentDeliveryError, "client-error"),
        (301, {}, PermanentDeliveryError, "client-error"),
    ],
)
def test_http_statuses_are_sorted_into_retry_or_refuse(
    status: int, headers: dict[str, str], expected: type[Exception], reason: str
) -> None:
    with pytest.raises(expected) as caught:
        classify(httpx.Response(status, headers=headers))
    assert caught.value.reason == reason and caught.value.status == status  # type: ignore[attr-defined]
    if status == 429:
        assert caught.value.retry_after == 3.0  # type: ignore[attr-defined]


def test_2xx_is_delivered() -> None:
    classify(httpx.Response(200))
    classify(httpx.Response(202))


def test_a_refused_connection_is_transient_and_the_url_is_not_in_the_error() -> None:
    async def attempt() -> None:
        async with client(2.0) as http:
            await send(
                http,
                "POST",
                f"http://127.0.0.1:{free_port()}/token-abc123",
                content=b"{}",
                headers={},
            )

    with pytest.raises(TransientDeliveryError) as caught:
        asyncio.run(attempt())
    assert caught.value.reason == "connection"
    assert "token-abc123" not in str(caught.value) and caught.value.__cause__ is None


def recipients_refused(code: int) -> aiosmtplib.SMTPRecipientsRefused:
    return aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(code, "no", "x@y.example")]
    )


@pytest.mark.parametrize(
    ("error", "expected", "reason", "status"),
    [
        (recipients_refused(550), PermanentDeliveryError, "smtp-refused", 550),
        (recipients_refused(451), TransientDeliveryError, "smtp-transient", 451),
        (aiosmtplib.SMTPDataError(554, "rejected"), PermanentDeliveryError, "smtp-refused", 554),
        (aiosmtplib.SMTPDataError(452, "full"), TransientDeliveryError, "smtp-transient", 452),
        (aiosmtplib.SMTPAuthenticationError(535, "bad"), TransientDeliveryError, "smtp-auth", 535),
        (aiosmtplib.SMTPReadTimeoutError("slow"), TransientDeliveryError, "timeout", None),
        (aiosmtplib.SMTPConnectError("down"), TransientDeliveryError, "connection", None),
        (aiosmtplib.SMTPServerDisconnected("gone"), TransientDeliveryError, "connection", None),
    ],
)
def test_smtp_5xx_refuses_and_everything_else_is_retried(
    error: aiosmtplib.SMTPException, expected: type[Exception], reason: str, status: int | None
) -> None:
    found = smtp_error(error)
    assert isinstance(found, expected)
    assert (found.reason, found.status) == (reason, status)  # type: ignore[attr-defined]


def test_message_id_is_derived_from_the_notification_id() -> None:
    key = "ntf_" + "a" * 32
    assert message_id(key, "kollegastotte@helse.example") == f"<{key}@helse.example>"
    assert message_id(key, "kollegastotte@helse.example") == message_id(key, "x@helse.example")


def test_slack_defaults_to_one_a_second_and_the_setting_overrides() -> None:
    assert DeliverySettings().rate_for(Channel.SLACK) == 1.0
    assert DeliverySettings().rate_for(Channel.EMAIL) == 0.0
    assert DeliverySettings(rate_per_s=5).rate_for(Channel.SLACK) == 5.0


def test_the_token_bucket_spaces_sends_out() -> None:
    async def take(bucket: TokenBucket, count: int) -> float:
        started = time.monotonic()
        for _ in range(count):
            await bucket.acquire()
        return time.monotonic() - started

    assert asyncio.run(take(TokenBucket(20.0), 5)) >= 4 / 20 * 0.9
    assert asyncio.run(take(TokenBucket(0.0), 1000)) < 0.5
    assert asyncio.run(take(TokenBucket(20.0, burst=5), 5)) < 0.05


def test_secrets_stay_out_of_settings_reprs() -> None:
    smtp = SmtpSettings(password=SecretStr("hunter2-password"))
    hook = WebhookSettings(url=SecretStr("https://x.example/t0ken"), secret=SecretStr("k" * 32))
    assert "hunter2" not in repr(smtp) and "t0ken" not in repr(hook) and "kkkk" not in repr(hook)
