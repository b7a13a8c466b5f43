"""Fixtures for every test: a clean environment, and for integration tests the broker."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runtime.settings import KafkaSettings
from runtime.topics import Topics, ensure_topics
from tests.support.broker import running_broker

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = Path(__file__).parent / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    """CI (`.ci/run`) requires the official examples: there, a missing ../shared would make
    the official-example privacy tests skip silently."""
    if os.environ.get("PSB_TEST_REQUIRE_SHARED") == "1" and not SHARED.is_dir():
        raise pytest.UsageError(f"{SHARED} is missing: CI runs with ../shared beside the clone")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in item.nodeid.replace(os.sep, "/"):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PSB_* setting leaks from the machine into a test."""
    for name in list(os.environ):
        if name.startswith("PSB_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_broker(tmp_path_factory.mktemp("broker")) as (bootstrap, _kind):
        yield bootstrap


@pytest.fixture(scope="session")
def kafka_factory(broker: str) -> Callable[..., KafkaSettings]:
    """Settings with a topic prefix of their own, topics created. A test that kills
    consumers passes a short ``session_timeout_ms``: a killed member holds its partitions
    that long before a restarted or surviving one gets them."""

    def make(partitions: int = 3, session_timeout_ms: int = 6000) -> KafkaSettings:
        kafka = KafkaSettings(
            bootstrap_servers=broker,
            topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
            partitions=partitions,
            session_timeout_ms=session_timeout_ms,
        )
        ensure_topics(kafka, Topics.of(kafka).specs())
        return kafka

    return make
