"""Routes of the evaluation figures on the worker's web server."""

from __future__ import annotations

import re
from typing import Any

from streams.context import WorkerContext
from streams.evaluation.figures import Figures
from streams.evaluation.page import render
from streams.views import ReplicatedView

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def register(ctx: WorkerContext, k: int) -> ReplicatedView[Figures]:
    app = ctx.app
    view: ReplicatedView[Figures] = ReplicatedView(ctx.topics.evaluation, Figures, ctx.kafka)

    @app.task  # type: ignore[untyped-decorator]  # faust.App.task is untyped
    async def keep_evaluation() -> None:
        await view.run()

    @app.page("/evaluation")
    async def evaluation(web_view: Any, request: Any) -> Any:
        month = request.query.get("month", "")
        html = render(view.values(), month if MONTH.match(month) else None, k)
        return web_view.html(html)

    return view
