"""``peer-support answers``: serve the one-click answer pages (see connectors.answers)."""

from __future__ import annotations

from typing import Annotated

import typer

from peer_support.exits import EXIT_UNAVAILABLE, fail, kafka_or_exit, settings_or_exit


def answers(
    host: Annotated[
        str, typer.Option(help="Address to listen on; all interfaces by default (a container).")
    ] = "0.0.0.0",  # noqa: S104 - the endpoint runs in a container behind an ingress
) -> None:
    """Serve the answer links: a confirmation page per link, one SupportResponse per answer.
    Exit 3 when no broker answers within PSB_KAFKA_CONNECT_TIMEOUT_S."""
    from connectors.answers.origin import origin_of
    from connectors.answers.server import log, serve
    from connectors.answers.tokens import AnswersSettings, AnswerTokens
    from runtime import settings as config
    from runtime.logging import configure

    configure(settings_or_exit(config.LogSettings).level)
    settings = settings_or_exit(AnswersSettings)
    tokens = AnswerTokens.from_settings(settings)
    if tokens is None:
        fail("PSB_ANSWERS_SECRET is not set: answer links cannot be verified")
    kafka = kafka_or_exit(log)
    if not serve(kafka, tokens, origin_of(settings.base_url), host, settings.port):
        raise typer.Exit(EXIT_UNAVAILABLE)
