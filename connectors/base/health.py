"""``/health/live``, ``/health/ready`` and ``/metrics`` of a sink process.

Live while the process runs its loop; ready once templates are checked, past receipts are
read and the consumer has subscribed (:attr:`SinkRunner.ready`).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry

from runtime.metrics import metrics_handler


class HealthServer:
    def __init__(
        self,
        host: str,
        port: int,
        ready: Callable[[], bool],
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._ready = ready
        app = web.Application()
        app.router.add_get("/health/live", self._live)
        app.router.add_get("/health/ready", self._readiness)
        if registry is not None:
            app.router.add_get("/metrics", metrics_handler(registry))
        self._runner = web.AppRunner(app, access_log=None)

    async def _live(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "live"})

    async def _readiness(self, _: web.Request) -> web.Response:
        ready = self._ready()
        return web.json_response(
            {"status": "ready" if ready else "starting"}, status=200 if ready else 503
        )

    async def start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        await self._runner.cleanup()
