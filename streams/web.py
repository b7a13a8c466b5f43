"""HTTP endpoints of the worker: liveness, readiness and Prometheus metrics, and nothing else.

Faust's own views (tables, router, statistics, graph) are switched off in
:mod:`streams.app`: they serve table contents and the cluster's layout to anyone who asks.
:data:`ROUTES` is the whole list; a test holds the running worker to it.
"""

from __future__ import annotations

from typing import Any, Final

from prometheus_client import generate_latest

from streams.context import WorkerContext

# aiohttp refuses a charset inside content_type; the exposition format is UTF-8 anyway
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4"


ROUTES: Final = ("/", "/health/live", "/health/ready", "/metrics")
"""Every route the worker's port serves; ``/`` is Faust's fixed ``{"status": "OK"}``."""


def register(ctx: WorkerContext) -> None:
    app = ctx.app

    @app.page("/health/live")
    async def live(view: Any, request: Any) -> Any:
        return view.json({"status": "live"})

    @app.page("/health/ready")
    async def ready(view: Any, request: Any) -> Any:
        checks = {
            "directory": ctx.directory.ready.is_set(),
            "assigned": not app.rebalancing,
        }
        status = 200 if all(checks.values()) else 503
        return view.json(
            {"status": "ready" if status == 200 else "waiting", **checks}, status=status
        )

    @app.page("/metrics")
    async def metrics(view: Any, request: Any) -> Any:
        return view.bytes(
            generate_latest(ctx.metrics.registry), content_type=PROMETHEUS_CONTENT_TYPE
        )
