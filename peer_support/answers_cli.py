"""``peer-support answers``: serve the one-click answer pages (see connectors.answers)."""

from __future__ import annotations

from typing import Annotated

import typer

from peer_support.exits import fail, settings_or_exit


def answers(
    host: Annotated[
        str, typer.Option(help="Address to listen on; all interfaces by default (a container).")
    ] = "0.0.0.0",  # noqa: S104 - the endpoint runs in a container behind an ingress
) -> None:
    """Serve the answer links: a confirmation page per link, one SupportResponse per answer."""
    from connectors.answers.server import serve
    from connectors.answers.tokens import AnswersSettings, AnswerTokens
    from runtime import settings as config
    from runtime.logging import configure

    configure(settings_or_exit(config.LogSettings).level)
    settings = settings_or_exit(AnswersSettings)
    tokens = AnswerTokens.from_settings(settings)
    if tokens is None:
        fail("PSB_ANSWERS_SECRET is not set: answer links cannot be verified")
    serve(settings_or_exit(config.KafkaSettings), tokens, host, settings.port)
