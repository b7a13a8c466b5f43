"""Running the ingest application until SIGTERM/SIGINT, with JSON logs only."""

from __future__ import annotations

from aiohttp import web

from connectors.ingest.app import create_app
from connectors.ingest.settings import FhirReadSettings, IngestSettings
from runtime.logging import get_logger
from runtime.settings import BoundarySettings, KafkaSettings, PolicySettings

log = get_logger("ingest")


def run_server(
    settings: IngestSettings,
    boundary: BoundarySettings,
    kafka: KafkaSettings,
    fhir: FhirReadSettings,
    policy: PolicySettings,
) -> None:
    app = create_app(settings, boundary, kafka, fhir, policy)
    log.info("ingest listening", port=settings.port)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
        handle_signals=True,
    )
    log.info("ingest stopped")
