"""Consumer group timing from ``PSB_KAFKA_SESSION_TIMEOUT_MS``: every group member (a sink's
librdkafka consumer, the worker's Faust consumer) sends heartbeats well within its session,
also when the session is set short; librdkafka itself accepts a heartbeat slower than the
session, and such a member would be evicted again and again."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from runtime.kafka import consumer_config, faust_broker_options
from runtime.settings import KafkaSettings


def settings(session_timeout_ms: int) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers="kafka-0:9092", session_timeout_ms=session_timeout_ms)


@pytest.mark.parametrize(
    ("session_ms", "heartbeat_ms"), [(10_000, 3000), (6000, 2000), (2000, 666)]
)
def test_members_beat_three_times_a_session_or_every_three_seconds(
    session_ms: int, heartbeat_ms: int
) -> None:
    kafka = settings(session_ms)
    sink = consumer_config(kafka, "sink-email")
    assert (sink["session.timeout.ms"], sink["heartbeat.interval.ms"]) == (session_ms, heartbeat_ms)
    worker = faust_broker_options(kafka)
    assert worker["broker_session_timeout"] * 1000 == session_ms
    assert worker["broker_heartbeat_interval"] * 1000 == pytest.approx(heartbeat_ms)


@pytest.mark.parametrize("session_ms", [999, 1_800_001])
def test_a_session_timeout_no_broker_would_take_is_refused(session_ms: int) -> None:
    with pytest.raises(ValidationError, match="session_timeout_ms"):
        settings(session_ms)
