"""Which topic an operator means: the names in ``dead-letters redrive TOPIC``."""

from __future__ import annotations

from runtime.topics import DLQ_SUFFIX, Topics


def redrivable(topics: Topics) -> list[str]:
    """The topics that have a dead-letter topic, with the deployment's prefix."""
    return [
        spec.name.removesuffix(DLQ_SUFFIX)
        for spec in topics.specs()
        if spec.name.endswith(DLQ_SUFFIX)
    ]


def source_topic(name: str, topics: Topics) -> str | None:
    """The full name of the topic ``name`` means: given with or without the prefix, and
    with or without ``.dlq``; ``None`` when it has no dead-letter topic."""
    base = name.strip().removesuffix(DLQ_SUFFIX)
    known = redrivable(topics)
    for candidate in (base, f"{topics.prefix}{base}"):
        if candidate in known:
            return candidate
    return None


def without_prefix(name: str, topics: Topics) -> str:
    return name.removeprefix(topics.prefix)
