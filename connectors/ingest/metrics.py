"""Prometheus metrics of the ingest server: counts by route, status and reason code only."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "psb_ingest_requests",
            "HTTP requests by route and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.refused = Counter(
            "psb_ingest_refused",
            "Requests refused, by reason code.",
            ["reason"],
            registry=self.registry,
        )
        self.signals = Counter(
            "psb_ingest_signals",
            "Signals acknowledged by the broker, by input format.",
            ["format"],
            registry=self.registry,
        )
        self.dropped = Counter(
            "psb_ingest_dropped",
            "Values the privacy boundary did not copy into a signal, by field and reason.",
            ["field", "reason"],
            registry=self.registry,
        )
        self.naming_no_one = Counter(
            "psb_ingest_signals_naming_no_one",
            "Signals stored whose report names no staff member by a usable reference.",
            registry=self.registry,
        )
        self.notifications = Counter(
            "psb_ingest_notifications",
            "FHIR subscription notifications, by notification type.",
            ["type"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "psb_ingest_request_seconds",
            "Time to answer a request, including the broker acknowledgement.",
            ["route"],
            registry=self.registry,
        )
