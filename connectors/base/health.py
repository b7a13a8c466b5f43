"""``/health/live``, ``/health/ready`` and ``/metrics`` of a sink process.

Live while the process runs its loop; ready once templates are checked, past receipts are
read and the consumer has subscribed (:attr:`SinkRunner.ready`).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


class HealthServer:
    def __init__(
        self,
        host: str,
        port: int,
        ready: Callable[[], bool],
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.host = host
        self._registry = registry
        self.port = port
        self._ready = ready
        app = web.Application()
        app.router.add_get("/health/live", self._live)
        app.router.add_get("/health/ready", self._readiness)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)

    async def _live(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "live"})

    async def _readiness(self, _: web.Request) -> web.Response:
        ready = self._ready()
        return web.json_response(
            {"status": "ready" if ready else "starting"}, status=200 if ready else 503
        )

    async def _metrics(self, _: web.Request) -> web.Response:
        if self._registry is None:
            return web.Response(status=404)
        return web.Response(
            body=generate_latest(self._registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        await self._runner.cleanup()
