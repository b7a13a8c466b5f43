"""HTTP endpoints of the worker: liveness, readiness and Prometheus metrics, and nothing else.

Faust's own views (tables, router, statistics, graph) are switched off in
:mod:`streams.app`: they serve table contents and the cluster's layout to anyone who asks.
:data:`ROUTES` is the whole list; a test holds the running worker to it.
"""

from __future__ import annotations

from typing import Any, Final

from runtime.metrics import ConsumerLag, ViewRecords, metrics_handler
from runtime.replicated_view import ReplicatedView
from streams.context import WorkerContext
from streams.faust_fixes import agent_lag

ROUTES: Final = ("/", "/health/live", "/health/ready", "/metrics")
"""Every route the worker's port serves; ``/`` is Faust's fixed ``{"status": "OK"}``."""


def register(ctx: WorkerContext) -> None:
    app = ctx.app
    ctx.metrics.registry.register(ConsumerLag(lambda: agent_lag(app)))

    def records_read() -> list[tuple[str, int]]:
        views: list[ReplicatedView[Any]] = [ctx.directory, ctx.supporters, *ctx.views]
        return [(view.topic, view.records_read) for view in views]

    ctx.metrics.registry.register(ViewRecords(records_read))
    exposition = metrics_handler(ctx.metrics.registry)
    recovered = app.tables.recovery.completed  # type: ignore[attr-defined]  # TableManager's, untyped on the interface

    @app.page("/health/live")
    async def live(view: Any, request: Any) -> Any:
        return view.json({"status": "live"})

    @app.page("/health/ready")
    async def ready(view: Any, request: Any) -> Any:
        checks = {
            "directory": ctx.directory.ready.is_set(),
            # the views load while the tables are restored, and before the first
            # assignment Faust is not rebalancing yet
            "restored": recovered.is_set(),
            "assigned": not app.rebalancing,
        }
        status = 200 if all(checks.values()) else 503
        return view.json(
            {"status": "ready" if status == 200 else "waiting", **checks}, status=status
        )

    @app.page("/metrics")
    async def metrics(view: Any, request: Any) -> Any:
        return await exposition(request)  # Faust's driver hands over aiohttp's own request
