"""Prometheus metrics of a sink process, served on ``/metrics`` beside the health endpoints.
Labels are codes (channel, outcome, reason) and topic names, never an address or anything
from a message."""

from __future__ import annotations

from prometheus_client import Counter

from runtime.metrics import process_registry


class SinkMetrics:
    def __init__(self) -> None:
        self.registry = process_registry()
        self.attempts = Counter(
            "psb_sink_attempts_total",
            "Delivery attempts, by channel, outcome (delivered, retrying, failed-permanently) "
            "and reason code.",
            ["channel", "outcome", "reason"],
            registry=self.registry,
        )
        self.skipped = Counter(
            "psb_sink_already_delivered_total",
            "Redelivered notifications not sent again because a receipt says they were.",
            ["channel"],
            registry=self.registry,
        )
