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
from schemas.codes import Language
from streams.context import WorkerContext
from streams.evaluation.figures import Figures
from streams.evaluation.page import render
from streams.evaluation.report import as_csv, month_table, months
from streams.evaluation.settings import EvaluationSettings
from streams.evaluation.texts import WORDS, negotiate

log = get_logger("evaluation")

MONTH: Final = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
HEADERS: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'",
    "Vary": "Accept-Language",
}


class BadQuery(Exception):
    """A query parameter the page cannot use; its message names the parameter, never the
    value that was sent."""


def chosen_language(request: web.Request, default: Language) -> tuple[Language, Language | None]:
    """The page's language, and the one asked for with ``?lang=`` (which wins) if any."""
    asked = negotiate(request.headers.get("Accept-Language"), default)
    lang = request.query.get("lang")
    if lang is None:
        return asked, None
    try:
        return Language(lang), Language(lang)
    except ValueError:
        raise BadQuery(WORDS[asked]["bad_lang"]) from None


def chosen_month(request: web.Request, language: Language) -> str | None:
    """``YYYY-MM`` from ``?month=``, or ``None`` for the latest month with figures."""
    month = request.query.get("month", "")
    if not month:
        return None
    if not MONTH.fullmatch(month) or month.startswith("0000"):
        raise BadQuery(WORDS[language]["bad_month"])
    return month


def refused(message: str) -> web.Response:
    return web.Response(status=400, text=message + "\n", content_type="text/plain")


def evaluation_app(
    view: ReplicatedView[Figures], k: int, default: Language = Language.NB
) -> web.Application:
    async def page(request: web.Request) -> web.Response:
        try:
            language, picked = chosen_language(request, default)
            month = chosen_month(request, language)
        except BadQuery as exc:
            return refused(str(exc))
        html = render(view.values(), month, k, language, picked)
        return web.Response(text=html, content_type="text/html")

    async def table(request: web.Request) -> web.Response:
        """The page's table as ``peer-support report --csv`` writes it: the same k-anonymous
        rows, hidden cells ``suppressed``, a month without figures ``no data``."""
        try:
            language, _ = chosen_language(request, default)
            month = chosen_month(request, language)
        except BadQuery as exc:
            return refused(str(exc))
        partials = view.values()
        month = month or next(reversed(months(partials)), None)
        rows = month_table(partials, month, k) if month else []
        name = f"peer-support-evaluation-{month}.csv" if month else "peer-support-evaluation.csv"
        return web.Response(
            text=as_csv(rows),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def secure(_request: web.Request, response: web.StreamResponse) -> None:
        """Every answer, errors and aiohttp's own 404s included, carries the same headers."""
        response.headers.update(HEADERS)

    app = web.Application()
    app.router.add_get("/evaluation", page)
    app.router.add_get("/evaluation.csv", table)
    app.on_response_prepare.append(secure)
    return app


def register(ctx: WorkerContext, settings: EvaluationSettings) -> None:
    if settings.port is None:
        return
    view: ReplicatedView[Figures] = ReplicatedView(ctx.topics.evaluation, Figures, ctx.kafka)
    ctx.views.append(view)
    port = settings.port

    @ctx.app.task  # type: ignore[untyped-decorator]  # faust.App.task is untyped
    async def keep_evaluation() -> None:
        await view.run()

    @ctx.app.task  # type: ignore[untyped-decorator]
    async def serve_evaluation() -> None:
        runner = web.AppRunner(evaluation_app(view, settings.k, settings.language), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.host, port).start()
            log.info("evaluation page served", port=port)
            await asyncio.Event().wait()  # until the worker stops and cancels this task
        finally:
            await runner.cleanup()
