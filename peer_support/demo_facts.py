"""What happened in the demo, read back from the topics and the worker's own counters, so the
summary explains the numbers by what the pipeline did rather than by what it should have."""

from __future__ import annotations

import urllib.request
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from runtime.settings import KafkaSettings
from runtime.topic_reader import ReadTimedOut, read_to_end
from runtime.topics import Topics
from schemas import (
    Channel,
    IncidentSignal,
    Notification,
    SupportOffer,
    SupportResponse,
)
from schemas.dead_letter import DeadLetter


@dataclass
class Facts:
    reports_in: int = 0
    signals: list[IncidentSignal] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    offers: list[SupportOffer] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    responses: list[SupportResponse] = field(default_factory=list)
    supporters: int = 0
    handoffs_not_made: Counter[str] = field(default_factory=Counter)
    """The worker's reason codes for accepted offers it handed to nobody."""
    reminders_cancelled: int = 0
    """Reminders the worker dropped because the person had answered."""


def read_topics(kafka: KafkaSettings, topics: Topics) -> Facts:
    """Every record of the demo's topics, read to their end; a broker that goes silent
    leaves the facts read so far."""
    notifications = {topics.notifications(channel) for channel in Channel}
    names = [
        topics.incident_reports,
        topics.incident_signals,
        Topics.dlq(topics.incident_reports),
        topics.support_offers,
        topics.support_responses,
        topics.supporters,
        *sorted(notifications),
    ]
    facts = Facts()
    with suppress(ReadTimedOut):
        for message in read_to_end(kafka, names):
            topic, value = message.topic(), message.value()
            if value is None:
                continue
            with suppress(ValidationError):  # its message would quote the record: skip it
                _note(facts, topics, notifications, topic, value)
    return facts


def _note(
    facts: Facts, topics: Topics, notifications: set[str], topic: str | None, value: bytes
) -> None:
    """One record into the facts, by the topic it came from."""
    if topic == topics.incident_reports:
        facts.reports_in += 1
    elif topic == topics.incident_signals:
        facts.signals.append(IncidentSignal.model_validate_json(value))
    elif topic == Topics.dlq(topics.incident_reports):
        facts.dead_letters.append(DeadLetter.model_validate_json(value))
    elif topic == topics.support_offers:
        facts.offers.append(SupportOffer.model_validate_json(value))
    elif topic == topics.support_responses:
        facts.responses.append(SupportResponse.model_validate_json(value))
    elif topic == topics.supporters:
        facts.supporters += 1
    elif topic in notifications:
        facts.notifications.append(Notification.model_validate_json(value))


def worker_counter(port: int, name: str) -> Counter[tuple[tuple[str, str], ...]]:
    """One counter of the worker's /metrics, by its sorted labels; empty when the worker
    does not answer (the summary then says less, the demo goes on)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return Counter()
    values: Counter[tuple[tuple[str, str], ...]] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{name}_total" or sample.name == name:
                values[tuple(sorted(sample.labels.items()))] += int(sample.value)
    return values


def handoffs_not_made(port: int) -> Counter[str]:
    """Reason codes the worker counted for accepts it handed to nobody."""
    counts: Counter[str] = Counter()
    for labels, value in worker_counter(port, "psb_handoffs").items():
        label = dict(labels)
        if label.get("route") == "none" and value:
            counts[label.get("outcome", "unknown")] += value
    return counts


def reminders_cancelled(port: int) -> int:
    return sum(worker_counter(port, "psb_reminders_cancelled").values())


def answers_counted(port: int) -> int:
    return sum(worker_counter(port, "psb_answers").values())


def handoffs_sent(port: int) -> int:
    return sum(
        value
        for labels, value in worker_counter(port, "psb_handoffs").items()
        if dict(labels).get("outcome") == "sent"
    )
