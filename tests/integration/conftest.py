"""Fixtures the ingest tests share: one broker prefix, one stand-in FHIR server and one
ingest process per test module (a module defining its own fixture of the same name wins)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from runtime.settings import KafkaSettings
from tests.support.fhir_server import CLIENT_ID, CLIENT_SECRET, FhirStandIn
from tools.ingest import IngestProcess, fhir_env


@pytest.fixture(scope="module")
def kafka(kafka_factory: Callable[..., KafkaSettings]) -> KafkaSettings:
    return kafka_factory()


@pytest.fixture(scope="module")
def fhir() -> Iterator[FhirStandIn]:
    with FhirStandIn() as server:
        yield server


@pytest.fixture(scope="module")
def ingest(
    kafka: KafkaSettings, fhir: FhirStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IngestProcess]:
    env = fhir_env(fhir.base_url, fhir.token_url, CLIENT_ID, CLIENT_SECRET)
    with IngestProcess(kafka, tmp_path_factory.mktemp("ingest"), env) as process:
        yield process
