"""Prometheus counters of a sink process, served on ``/metrics`` beside the health endpoints.
Labels are codes (channel, outcome, reason), never an address or anything from a message."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class SinkMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
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
