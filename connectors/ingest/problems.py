"""RFC 9457 problem documents: a status, a reason code and a field path, never a value.

Every refusal of the ingest API goes through :class:`Problem`. Its text comes from fixed
tables (``REASON_TEXT`` and :data:`EDGE_TEXT`), so nothing a caller sent can be reflected
back, and a client can act on ``reason`` without parsing prose.
"""

from __future__ import annotations

import json
from typing import Final

from aiohttp import web

from connectors.ingest.outcomes import EventOutcome, ProblemDocument
from schemas.boundary import BoundaryError
from schemas.dead_letter import REASON_TEXT, Reason

PROBLEM_CONTENT_TYPE: Final = "application/problem+json"
TYPE_BASE: Final = "urn:peer-support-bridge:problem:"
SERVER_NAME: Final = "peer-support-bridge"
"""The ``Server`` header of every answer: no library, no version."""
CHALLENGE: Final = {"WWW-Authenticate": 'Bearer realm="peer-support"'}

# Reasons of the HTTP edge itself, next to the boundary's own.
EDGE_TEXT: Final[dict[str, str]] = {
    "unauthorized": "a valid bearer token or signature is required",
    "bad-signature": "the signature does not match the body",
    "malformed-credentials": "a credential header is malformed",
    "unverifiable-credential": "a credential was sent that this server has no key to check",
    "stale-signature": "the signature's timestamp is outside the accepted window",
    "replayed": "this webhook-id was accepted before; nothing is written twice",
    "busy": "too many requests are being received; retry later",
    "body-timeout": "the request body did not arrive in time",
    "incomplete-body": "the request body ended early or was malformed",
    "malformed-request": "the request could not be parsed",
    "expectation-failed": "only 'Expect: 100-continue' is understood",
    "unsupported-media-type": "the content type is not accepted here",
    "unknown-format": "the format parameter is not one of the accepted formats",
    "rate-limited": "too many requests from this client; retry later",
    "broker-unavailable": "the report was not stored; retry later",
    "not-found": "no such resource",
    "method-not-allowed": "the method is not allowed here",
    "invalid-cloudevent": "the CloudEvent attributes are missing or invalid",
    "invalid-batch": "the body is not a JSON array of one or more CloudEvents",
    "batch-too-large": "the batch holds more events than this server takes at once",
    "no-event-accepted": "no event of the batch was accepted; each is listed with its reason",
    "read-back-failed": "the AdverseEvent could not be read from the FHIR server",
    "read-back-unconfigured": "id-only notifications need a FHIR server to be configured",
    "internal": "the request could not be processed",
}

_STATUS_TITLE: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    417: "Expectation Failed",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

_BOUNDARY_STATUS: Final = {
    Reason.TOO_LARGE: 413,
    Reason.EMPTY: 400,
    Reason.NOT_UTF8: 400,
    Reason.INVALID_JSON: 400,
    Reason.TOO_DEEP: 400,
    Reason.DUPLICATE_KEY: 400,
    Reason.NOT_AN_OBJECT: 400,
}


_BOUNDARY_TEXT: Final = {reason.value: text for reason, text in REASON_TEXT.items()}


class Problem(Exception):
    """A refusal, raised anywhere in a handler and rendered by the middleware."""

    def __init__(
        self,
        status: int,
        reason: str,
        path: str | None = None,
        headers: dict[str, str] | None = None,
        events: list[EventOutcome] | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.path = path
        self.headers = headers or {}
        self.events = events
        super().__init__(f"{status} {reason}")

    @classmethod
    def unauthorized(cls, reason: str = "unauthorized", path: str | None = None) -> Problem:
        return cls(401, reason, path, headers=dict(CHALLENGE))

    @classmethod
    def from_boundary(cls, error: BoundaryError, path_prefix: str = "") -> Problem:
        path = error.path if not path_prefix else f"{path_prefix}{error.path.lstrip('$.')}"
        return cls(_BOUNDARY_STATUS.get(error.reason, 422), error.reason.value, path or "$")

    def model(self) -> ProblemDocument:
        return ProblemDocument(
            type=f"{TYPE_BASE}{self.reason}",
            title=_STATUS_TITLE.get(self.status, "Error"),
            status=self.status,
            detail=EDGE_TEXT.get(self.reason) or _BOUNDARY_TEXT.get(self.reason, ""),
            reason=self.reason,
            field=self.path,
            events=self.events,
        )

    def document(self) -> dict[str, object]:
        return self.model().body()

    def response(self) -> web.Response:
        response = web.Response(
            status=self.status,
            body=json.dumps(self.document()).encode(),
            content_type=PROBLEM_CONTENT_TYPE,
            headers={"Server": SERVER_NAME, **self.headers},
        )
        if self.headers.get("Connection") == "close":
            response.force_close()  # the header alone would leave aiohttp's side open
        return response
