"""Fuzzing the ingest API from its own OpenAPI document: bodies following each operation's
schema, and arbitrary JSON, sent to the real server. No 5xx (503 is allowed only with
Retry-After), no crash, and every refusal is a problem document."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.ingest.openapi import openapi_document
from runtime.settings import KafkaSettings
from tests.support.ingest import IngestProcess
from tests.support.openapi_fuzz import from_schema, operations, query

DOCUMENT = openapi_document()
OPERATIONS = operations(DOCUMENT)


@pytest.fixture(scope="module")
def ingest(
    kafka_factory: Callable[..., KafkaSettings], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IngestProcess]:
    with IngestProcess(kafka_factory(partitions=1), tmp_path_factory.mktemp("fuzz")) as process:
        yield process


@pytest.mark.parametrize(
    ("method", "path", "content_type", "schema", "parameters"),
    OPERATIONS,
    ids=[f"{o[0]} {o[1]} {o[2]}" for o in OPERATIONS],
)
def test_fuzzed_requests_never_get_a_server_error(
    ingest: IngestProcess,
    method: str,
    path: str,
    content_type: str,
    schema: dict[str, Any],
    parameters: list[dict[str, Any]],
) -> None:
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        body=from_schema(schema, DOCUMENT), params=query(parameters, DOCUMENT), raw=st.booleans()
    )
    def check(body: Any, params: dict[str, str], raw: bool) -> None:
        data = json.dumps(body).encode() if not raw or not isinstance(body, str) else body.encode()
        response = ingest.post(path, data, content_type, params=params)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert response.headers["Content-Type"].startswith("application/problem+json")
            assert set(response.json()) >= {"type", "title", "status", "reason"}

    check()
    assert ingest.process is not None and ingest.process.poll() is None, "server still running"
    assert httpx.get(f"{ingest.base_url}/health/live", timeout=5).status_code == 200
