"""Delivery semantics shared by every sink: back-off, rate limit, and the receipts memory.

* Transient failures are retried with exponential back-off and full jitter, capped, and a
  channel's own ``Retry-After`` is honoured (never waiting less than it asked).
* A token bucket limits messages per second per sink process (Slack allows about one a
  second per channel, so that is its default).
* :func:`load_delivered` reads ``notification-receipts`` from the beginning at start-up: every
  notification a receipt says was delivered (or refused for good) is not sent again, so a
  crash after a send and before the offset commit does not double a message.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Final

from pydantic import Field, ValidationError
from pydantic_settings import SettingsConfigDict

from runtime.logging import get_logger
from runtime.settings import KafkaSettings, PsbSettings
from runtime.topic_reader import ReadTimedOut, read_to_end
from schemas import Channel, DeliveryReceipt, Outcome

log = get_logger("sink")

DEFAULT_RATES: Final[dict[Channel, float]] = {Channel.SLACK: 1.0}
"""Messages per second when ``PSB_SINK_RATE_PER_S`` is 0; channels not named: unlimited."""

RETRY_AFTER_MAX_S: Final = 3600.0

FINAL_OUTCOMES: Final = frozenset({Outcome.DELIVERED, Outcome.FAILED_PERMANENTLY})


class DeliverySettings(PsbSettings):
    """Retries, rate limit and health endpoint of a sink process."""

    model_config = SettingsConfigDict(env_prefix="PSB_SINK_", frozen=True, extra="ignore")

    health_host: str = Field("0.0.0.0", description="Address of the sink's health endpoint.")  # noqa: S104
    health_port: int = Field(
        8081, ge=0, le=65535, description="Port of /health/live and /health/ready of a sink."
    )
    retry_initial_s: float = Field(
        1.0, gt=0, le=60, description="First wait before retrying a transient failure, seconds."
    )
    retry_max_s: float = Field(
        300.0, gt=0, le=3600, description="Longest wait between retries, seconds."
    )
    retry_max_attempts: int = Field(
        0,
        ge=0,
        le=100_000,
        description="Attempts before a transiently failing notification is dead-lettered; "
        "0: retry until it is delivered (an outage delays, never loses).",
    )
    rate_per_s: float = Field(
        0.0,
        ge=0,
        le=10_000,
        description="Messages per second a sink sends; 0: the channel's default (Slack 1, "
        "others unlimited).",
    )
    rate_burst: int = Field(1, ge=1, le=1000, description="Messages a sink may send at once.")
    receipts_timeout_s: float = Field(
        30.0, gt=0, le=600, description="Longest time to read past receipts at start-up."
    )

    def rate_for(self, channel: Channel | None) -> float:
        if self.rate_per_s:
            return self.rate_per_s
        return DEFAULT_RATES.get(channel, 0.0) if channel is not None else 0.0


def backoff_s(
    attempt: int,
    initial_s: float,
    max_s: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Wait before attempt ``attempt + 1``: jitter over an exponential ceiling, but never less
    than the channel's ``Retry-After`` (which may exceed ``max_s``; it is capped at an hour)."""
    ceiling = min(max_s, initial_s * 2 ** min(attempt - 1, 30))
    wait = (rng or random).uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        wait = max(wait, min(retry_after, RETRY_AFTER_MAX_S))
    return wait


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; ``rate`` 0 means no limit."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if self.rate <= 0:
            return
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


def load_delivered(kafka: KafkaSettings, topic: str, timeout_s: float) -> set[str]:
    """Ids of notifications whose receipts say delivered or refused for good, read from the
    beginning of ``topic`` up to its end (or what was read until ``timeout_s``)."""
    done: set[str] = set()
    try:
        for message in read_to_end(kafka, [topic], timeout_s=timeout_s):
            try:
                receipt = DeliveryReceipt.model_validate_json(message.value() or b"")
            except ValidationError:
                continue
            if receipt.outcome in FINAL_OUTCOMES:
                done.add(receipt.notification_id)
    except ReadTimedOut:
        log.warning("receipts not read to the end", topic=topic, found=len(done))
    return done
