"""Running the ingest application until SIGTERM/SIGINT, with JSON logs only.

Not ``web.run_app``: connections are made by :class:`ProblemRequestHandler`, so parser
errors are answered with problem documents, and with the limits every connection needs
before it has sent a request (how long it may take with its headers, no decompression).
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from aiohttp import web

from connectors.ingest.app import create_app
from connectors.ingest.parser_errors import ProblemRequestHandler
from connectors.ingest.settings import FhirReadSettings, IngestSettings
from runtime.logging import get_logger
from runtime.settings import BoundarySettings, KafkaSettings, PolicySettings

log = get_logger("ingest")

BACKLOG = 1024
"""Connections the kernel may queue before they are accepted (asyncio's default is 100)."""
LINGER_S = 2.0
"""How long the unread rest of a refused body is read and dropped before the connection is
closed, so the client can still read its answer."""


def run_server(
    settings: IngestSettings,
    boundary: BoundarySettings,
    kafka: KafkaSettings,
    fhir: FhirReadSettings,
    policy: PolicySettings,
) -> None:
    app = create_app(settings, boundary, kafka, fhir, policy)
    asyncio.run(serve(app, settings))
    log.info("ingest stopped")


def connection_options(settings: IngestSettings) -> dict[str, Any]:
    """Keyword arguments of each connection's :class:`web.RequestHandler`."""
    return {
        "keepalive_timeout": settings.idle_timeout_s,  # also bounds the wait for headers
        "lingering_time": LINGER_S,
        "auto_decompress": False,
        "access_log": None,
    }


async def serve(app: web.Application, settings: IngestSettings) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    manager = runner.server
    if manager is None:
        raise RuntimeError("the runner has no server after setup")
    options = connection_options(settings)
    listener = await loop.create_server(
        lambda: ProblemRequestHandler(manager, loop=loop, **options),
        settings.host,
        settings.port,
        reuse_address=True,
        backlog=BACKLOG,
    )
    log.info("ingest listening", port=settings.port)
    try:
        await stop.wait()
    finally:
        listener.close()
        await runner.cleanup()
