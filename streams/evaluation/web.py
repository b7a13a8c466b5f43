"""The evaluation page on a port of its own, off by default.

The figures are anonymous counts, but they are the quality department's, not everyone's: the
page is served only when ``PSB_EVALUATION_PORT`` is set, on that port alone (the chart's
NetworkPolicy admits it only from where values say), never on the worker's health port.
"""

from __future__ import annotations

import asyncio
import re
from typing import Final

from aiohttp import web

from runtime.logging import get_logger
from runtime.replicated_view import ReplicatedView
from streams.context import WorkerContext
from streams.evaluation.figures import Figures
from streams.evaluation.page import render
from streams.evaluation.settings import EvaluationSettings

log = get_logger("evaluation")

MONTH: Final = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
HEADERS: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'",
}


def evaluation_app(view: ReplicatedView[Figures], k: int) -> web.Application:
    async def page(request: web.Request) -> web.Response:
        month = request.query.get("month", "")
        html = render(view.values(), month if MONTH.match(month) else None, k)
        return web.Response(text=html, content_type="text/html", headers=HEADERS)

    app = web.Application()
    app.router.add_get("/evaluation", page)
    return app


def register(ctx: WorkerContext, settings: EvaluationSettings) -> None:
    if settings.port is None:
        return
    view: ReplicatedView[Figures] = ReplicatedView(ctx.topics.evaluation, Figures, ctx.kafka)
    port = settings.port

    @ctx.app.task  # type: ignore[untyped-decorator]  # faust.App.task is untyped
    async def keep_evaluation() -> None:
        await view.run()

    @ctx.app.task  # type: ignore[untyped-decorator]
    async def serve_evaluation() -> None:
        runner = web.AppRunner(evaluation_app(view, settings.k), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.host, port).start()
            log.info("evaluation page served", port=port)
            await asyncio.Event().wait()  # until the worker stops and cancels this task
        finally:
            await runner.cleanup()
