"""Prometheus metrics of the ingest server: counts by route template, status and reason
code only, never a raw path or anything from a report."""

from __future__ import annotations

from typing import Final

from aiohttp import web
from prometheus_client import Counter, Gauge, Histogram

from runtime.metrics import policy_reload_refused, process_registry

UNMATCHED: Final = "unmatched"


def route_label(request: web.Request) -> str:
    """The route's template, never the path sent; ``unmatched`` where no route serves it."""
    resource = request.match_info.route.resource
    if resource is None or resource.name == "other":
        return UNMATCHED
    return resource.canonical


"""The route label of a request no route serves (404, or 405 for an unknown path): the raw
path would let any caller add label values without bound."""


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = process_registry()
        self.requests = Counter(
            "psb_ingest_requests",
            "HTTP requests by route template (or 'unmatched') and status.",
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
        self.policy_reload_refused = policy_reload_refused(self.registry)
        self.source_last_report = Gauge(
            "psb_source_last_report_timestamp_seconds",
            "When a report was last accepted (unix seconds): the reporting source's heartbeat.",
            registry=self.registry,
        )
