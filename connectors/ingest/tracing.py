"""A span per ingest request, the first of a report's trace.

It continues a ``traceparent`` the reporting system sent (W3C trace context only), and is
named by the route's template, never the path sent. Refusals add their reason code
(:func:`runtime.tracing.annotate` from :meth:`Ingest.refused`). Tracing starts here for
the ingest process: the application is built once per process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Middleware
from opentelemetry.trace import SpanKind, Status, StatusCode

from connectors.ingest.metrics import route_label
from runtime import tracing

SERVICE: Final = "peer-support-ingest"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def requests() -> Middleware:
    """The middleware, outermost, so its span holds the answer the caller got."""
    tracing.setup(SERVICE)

    @web.middleware
    async def traced(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = route_label(request)
        attributes = {"http.request.method": request.method, "http.route": route}
        with tracing.step(
            f"{request.method} {route}", attributes, headers=request.headers, kind=SpanKind.SERVER
        ) as span:
            response = await handler(request)
            span.set_attribute("http.response.status_code", response.status)
            if response.status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            return response

    return traced
