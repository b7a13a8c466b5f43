"""``peer-support ingest``: the HTTP ingest server."""

from __future__ import annotations

from peer_support.exits import settings_or_exit


def ingest_command() -> None:
    """Run the HTTP ingest server (native reports, FHIR AdverseEvents and subscription
    notifications, CloudEvents); reports are minimized before anything reaches Kafka."""
    from connectors.ingest.server import run_server
    from connectors.ingest.settings import FhirReadSettings, IngestSettings
    from runtime import settings as config
    from runtime.logging import configure

    configure(settings_or_exit(config.LogSettings).level)
    run_server(
        settings_or_exit(IngestSettings),
        settings_or_exit(config.BoundarySettings),
        settings_or_exit(config.KafkaSettings),
        settings_or_exit(FhirReadSettings),
    )
