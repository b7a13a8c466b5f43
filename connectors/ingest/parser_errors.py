"""Patch: aiohttp's answer to a request its parser refuses, as a problem document.

aiohttp answers a malformed request line, a NUL in a header or a Content-Length that is no
number with a text/plain 400 quoting the offending bytes, from
``RequestHandler.handle_error``, before any middleware runs and with no public hook. This
subclass keeps aiohttp's logging and connection handling (``super().handle_error``) and
replaces only the answer: a problem document from :class:`Problem`, which quotes nothing.

Upstream: https://github.com/aio-libs/aiohttp/issues/3287 (custom handling of parser
errors, open) and /issues/6463 (prepare hooks for parser errors). Written for aiohttp 3.14.5
(:data:`WRITTEN_FOR`; a unit test fails on another version, so an upgrade looks at this
again). Proved by
tests/integration/test_third_party_logs.py::test_aiohttp_parser_errors_answer_without_the_request
and tests/integration/test_attack_ingest.py. Retire it when aiohttp answers parser errors
without quoting the request or offers a hook for them: remove this module, give
``server.py`` the plain ``RequestHandler``, and those tests must still pass.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from connectors.ingest.problems import Problem

WRITTEN_FOR: Final = "3.14.5"


class ProblemRequestHandler(web.RequestHandler):
    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        super().handle_error(request, status, exc)  # logs, and raises if an answer began
        reason = "malformed-request" if status < 500 else "internal"
        response = Problem(status, reason).response()
        response.force_close()
        return response
