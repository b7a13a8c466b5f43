"""What every process's ``/metrics`` shares: a registry with the default collectors and
``psb_build_info``, prometheus_client's own exposition, and consumer lag read on scrape.

Each process builds its registry here rather than using prometheus_client's global one:
tests and the demo run several components in one Python process, and a global registry
would refuse their second set of metrics. The default collectors are registered on each
registry instead, so ``process_*`` and ``python_*`` are still there in production.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Final

from aiohttp import web
from prometheus_client import (
    GC_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from runtime.logging import get_logger

log = get_logger("metrics")

DISTRIBUTION: Final = "peer-support-bridge"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def process_registry() -> CollectorRegistry:
    """A registry holding ``process_*``, ``python_*`` and ``psb_build_info``; the caller
    adds its own metrics."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    if GC_COLLECTOR is not None:  # only where the interpreter keeps gc statistics
        GCCollector(registry=registry)
    Gauge(
        "psb_build_info",
        "The running release (value 1), labelled with its version.",
        ["version"],
        registry=registry,
    ).labels(build_version()).set(1)
    return registry


def policy_reload_refused(registry: CollectorRegistry) -> Counter:
    """The worker and the ingest server both read the policy file, and count refusals alike."""
    return Counter(
        "psb_policy_reload_refused",
        "Changed policy files refused at reload (the policy in force stays).",
        registry=registry,
    )


def metrics_handler(registry: CollectorRegistry) -> Handler:
    """prometheus_client's aiohttp handler: its content negotiation (text or OpenMetrics),
    its content type and its ``name[]`` filter, gzip when the scraper accepts it."""
    return make_aiohttp_handler(registry)


@dataclass(frozen=True)
class Lag:
    """Records of ``topic`` on this process's partitions not yet consumed by ``consumer``."""

    consumer: str
    topic: str
    records: int


class ConsumerLag(Collector):
    """``psb_consumer_lag_records``, computed when scraped so an idle process is not woken
    to keep it current. Lag is the partition's end offset as last seen by the consumer's
    own fetches minus the first offset not yet done, summed over the partitions this
    process holds; a consumer that holds no partition shows nothing."""

    def __init__(self, read: Callable[[], Iterable[Lag]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "psb_consumer_lag_records",
            "Records not yet consumed, by consumer (worker agent or sink) and topic, summed "
            "over the partitions this process holds.",
            labels=["consumer", "topic"],
        )
        totals: dict[tuple[str, str], int] = {}
        try:
            for lag in self._read():
                key = (lag.consumer, lag.topic)
                totals[key] = totals.get(key, 0) + max(lag.records, 0)
        except Exception as exc:  # a consumer closing or rebalancing: no figure this time
            log.debug("consumer lag not read", exception=type(exc).__name__)
            totals = {}
        for (consumer, topic), records in sorted(totals.items()):
            family.add_metric([consumer, topic], records)
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "psb_consumer_lag_records", "Records not yet consumed.", labels=["consumer", "topic"]
        )


class ViewRecords(Collector):
    """``psb_view_records_read_total``, read when scraped: the records each replicated view
    of this process has read from its topic since the process started. Once it reaches the
    topic's record count, a change on that topic (a leaver, a supporter's load) is in this
    process's view."""

    NAME: Final = "psb_view_records_read"
    HELP: Final = "Records each replicated view (directory, supporters, loads) has read."

    def __init__(self, read: Callable[[], Iterable[tuple[str, int]]]) -> None:
        self._read = read

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(self.NAME, self.HELP, labels=["topic"])
        totals: dict[str, int] = {}
        for topic, records in self._read():
            totals[topic] = totals.get(topic, 0) + records
        for topic, records in sorted(totals.items()):
            family.add_metric([topic], records)
        yield family

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self.NAME, self.HELP, labels=["topic"])
