"""What a Prometheus scrape of any process shows: the default process and Python metrics,
the release, consumer lag, and the exposition format the scraper asks for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from faust.types import TP
from prometheus_client import CollectorRegistry, generate_latest

from connectors.base.metrics import SinkMetrics
from connectors.ingest.metrics import IngestMetrics
from runtime.metrics import ConsumerLag, Lag, ViewRecords, metrics_handler, process_registry
from runtime.settings import BoundarySettings, KafkaSettings, PolicySettings, WorkerSettings
from schemas.policy import default_policy_text
from streams.app import create_app
from streams.faust_fixes import agent_lag
from streams.metrics import WorkerMetrics
from tools.worker import TEST_PSEUDONYM_KEY


def scraped(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


@pytest.mark.parametrize("metrics", [WorkerMetrics, IngestMetrics, SinkMetrics])
def test_every_process_shows_process_python_and_release_metrics(
    metrics: Callable[[], Any],
) -> None:
    first, second = metrics(), metrics()  # the demo and tests hold several in one process
    text = scraped(second.registry)
    for sample in ("process_cpu_seconds_total ", "process_resident_memory_bytes ", "python_info{"):
        assert sample in text, sample
    assert "python_gc_collections_total{" in text
    assert f'psb_build_info{{version="{version("peer-support-bridge")}"}} 1.0' in text
    assert scraped(first.registry).count("psb_build_info{") == 1


async def test_the_metrics_endpoint_answers_in_the_format_the_scraper_asks_for() -> None:
    registry = process_registry()
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(registry))
    async with TestClient(TestServer(app)) as client:
        plain = await client.get("/metrics")
        assert plain.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert "psb_build_info{" in await plain.text()
        open_metrics = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
        assert open_metrics.headers["Content-Type"].startswith("application/openmetrics-text")
        assert (await open_metrics.text()).endswith("# EOF\n")


def test_lag_is_summed_per_consumer_and_topic_and_never_negative() -> None:
    registry = CollectorRegistry()
    registry.register(
        ConsumerLag(
            lambda: [
                Lag("sink-email", "psb.notifications.email", 3),
                Lag("sink-email", "psb.notifications.email", 2),
                Lag("sink-email", "psb.notifications.sms", -1),  # a broker's stale watermark
            ]
        )
    )
    text = scraped(registry)
    assert (
        'psb_consumer_lag_records{consumer="sink-email",topic="psb.notifications.email"} 5.0'
        in (text)
    )
    assert 'psb_consumer_lag_records{consumer="sink-email",topic="psb.notifications.sms"} 0.0' in (
        text
    )


def test_view_records_are_read_per_topic_at_each_scrape() -> None:
    read = {"psb.staff-directory": 3, "psb.supporter-load": 0}
    registry = CollectorRegistry()
    registry.register(ViewRecords(lambda: list(read.items())))
    assert 'psb_view_records_read_total{topic="psb.supporter-load"} 0.0' in scraped(registry)
    read["psb.supporter-load"] = 2  # a load came in: the next scrape shows it
    text = scraped(registry)
    assert 'psb_view_records_read_total{topic="psb.supporter-load"} 2.0' in text
    assert 'psb_view_records_read_total{topic="psb.staff-directory"} 3.0' in text


def test_a_consumer_closing_during_a_scrape_leaves_lag_out_and_the_rest_in() -> None:
    def closed() -> Iterator[Lag]:
        raise RuntimeError("Consumer closed")

    registry = process_registry()
    registry.register(ConsumerLag(closed))
    text = scraped(registry)
    assert "psb_consumer_lag_records{" not in text
    assert "psb_build_info{" in text


def test_worker_lag_is_per_agent_over_its_topics_partitions_from_the_committed_offset() -> None:
    reports, reports_1, signals = TP("r", 0), TP("r", 1), TP("s", 0)
    changelog = TP("app-offers-made-changelog", 0)
    ends = {reports: 10, reports_1: 4, signals: None, changelog: 99}
    consumer = SimpleNamespace(
        assignment=lambda: {reports, reports_1, signals, changelog},
        highwater=ends.__getitem__,
        _committed_offset={reports: 7},  # partition 1 never committed: counted from 0
    )
    agents = {
        "minimize": SimpleNamespace(name="minimize", get_topic_names=lambda: ["r"]),
        "offers": SimpleNamespace(name="offers", get_topic_names=lambda: ["s"]),
    }
    app = SimpleNamespace(_consumer=consumer, agents=agents)
    lags = set(agent_lag(app))  # type: ignore[arg-type]  # a stand-in for Faust's app
    assert lags == {Lag("minimize", "r", 3), Lag("minimize", "r", 4)}
    not_started = SimpleNamespace(_consumer=None, agents=agents)
    assert list(agent_lag(not_started)) == []  # type: ignore[arg-type]


def test_a_refused_policy_version_is_counted_once(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(default_policy_text())
    ctx = create_app(
        KafkaSettings(),
        BoundarySettings(pseudonym_key=TEST_PSEUDONYM_KEY),
        WorkerSettings(data_dir=tmp_path),
        PolicySettings(file=policy),
    )
    policy.write_text(
        default_policy_text().replace("minimum_severity: none", "minimum_severity: x")
    )
    assert not ctx.policy.reload_if_changed()
    assert not ctx.policy.reload_if_changed()  # the same refused file, read again
    assert "psb_policy_reload_refused_total 1.0" in scraped(ctx.metrics.registry)
