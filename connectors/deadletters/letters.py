"""The dead letters on the broker: which ``.dlq`` topics there are, and what they hold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError

from runtime.settings import KafkaSettings
from runtime.topic_reader import read_to_end
from runtime.topics import DLQ_SUFFIX
from schemas import DeadLetter


@dataclass(frozen=True)
class Filed:
    """A dead letter and the ``.dlq`` topic it was read from."""

    dlq_topic: str
    letter: DeadLetter


@dataclass
class DeadLetters:
    filed: list[Filed] = field(default_factory=list)
    unreadable: Counter[str] = field(default_factory=Counter)
    """Records of a ``.dlq`` topic that are not dead letters, by topic (written by hand, or
    by another tool): counted, never shown."""


def dlq_topics(names: Iterable[str], prefix: str) -> list[str]:
    """The deployment's dead-letter topics among ``names``."""
    return sorted(name for name in names if name.startswith(prefix) and name.endswith(DLQ_SUFFIX))


def read_dead_letters(kafka: KafkaSettings, topics: Iterable[str]) -> DeadLetters:
    found = DeadLetters()
    for message in read_to_end(kafka, topics):
        topic = message.topic() or ""
        try:
            letter = DeadLetter.model_validate_json(message.value() or b"")
        except ValidationError:
            found.unreadable[topic] += 1
            continue
        found.filed.append(Filed(topic, letter))
    return found
