"""``peer-support ingest``: the HTTP ingest server."""

from __future__ import annotations

import typer

from peer_support.exits import EXIT_INPUT, settings_or_exit


def ingest_command() -> None:
    """Run the HTTP ingest server (native reports, FHIR AdverseEvents and subscription
    notifications, CloudEvents); reports are minimized before anything reaches Kafka."""
    from connectors.ingest.server import run_server
    from connectors.ingest.settings import FhirReadSettings, IngestSettings
    from runtime import settings as config
    from runtime.logging import configure, get_logger
    from schemas.policy import PolicyError

    configure(settings_or_exit(config.LogSettings).level)
    try:
        run_server(
            settings_or_exit(IngestSettings),
            settings_or_exit(config.BoundarySettings),
            settings_or_exit(config.KafkaSettings),
            settings_or_exit(FhirReadSettings),
            settings_or_exit(config.PolicySettings),
        )
    except PolicyError as exc:
        get_logger("ingest").error(
            "policy refused, the ingest server does not start",
            problems=[problem.render(exc.source) for problem in exc.problems],
        )
        raise typer.Exit(EXIT_INPUT) from None
