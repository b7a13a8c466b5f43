"""The OpenAPI 3.1 description of the ingest API, served at ``/openapi.json``.

Kept next to the routes and checked against them by a test: every route is documented and
every documented operation is served.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from connectors.ingest import webhooks
from connectors.ingest.auth import SIGNATURE_HEADER

PROBLEM: Final = {"$ref": "#/components/responses/Problem"}
ANY_OBJECT: Final = {"type": "object"}
WEBHOOK_HEADERS: Final = (
    (webhooks.ID_HEADER, "Standard Webhooks message id; accepted once (409 when seen again)."),
    (
        webhooks.TIMESTAMP_HEADER,
        "Standard Webhooks send time, Unix seconds; within PSB_INGEST_WEBHOOK_TOLERANCE_S.",
    ),
    (
        webhooks.SIGNATURE_HEADER,
        "Standard Webhooks signatures, space-separated 'v1,<base64 HMAC-SHA-256 of "
        "id.timestamp.body>'.",
    ),
)


def _problem_responses(*statuses: int) -> dict[str, Any]:
    return {str(status): PROBLEM for status in statuses}


def _post(
    summary: str, description: str, media: dict[str, Any], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "description": description,
        "security": [{"bearer": []}, {"webhook": []}, {"signature": []}],
        "parameters": _credential_headers(),
        "requestBody": {"required": True, "content": media},
        "responses": _post_responses(),
    }
    for key, value in (extra or {}).items():
        operation[key] = operation[key] + value if key == "parameters" else value
    return operation


def _post_responses(*extra: int) -> dict[str, Any]:
    return {
        "202": {"$ref": "#/components/responses/Accepted"},
        **_problem_responses(400, 401, 408, 409, 413, 415, 422, 429, *extra),
        "503": {"$ref": "#/components/responses/Unavailable"},
    }


def _credential_headers() -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "header",
            "required": False,
            "description": description,
            "schema": {"type": "string"},
        }
        for name, description in WEBHOOK_HEADERS
    ]


def _fhir_media(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "application/fhir+json": {"schema": schema},
        "application/json": {"schema": schema},
        "application/cloudevents+json": {"schema": {"$ref": "#/components/schemas/CloudEvent"}},
    }


def _get(summary: str, content_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": [],
        "responses": {"200": {"description": "OK", "content": {content_type: {"schema": schema}}}},
    }


@cache
def openapi_document() -> dict[str, Any]:
    native = {"$ref": "#/components/schemas/NativeReport"}
    adverse_event = {"$ref": "#/components/schemas/AdverseEvent"}
    bundle = {"$ref": "#/components/schemas/NotificationBundle"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "peer-support-bridge ingest",
            "version": "1",
            "description": "Incident reports in. Each report passes the privacy boundary here "
            "and only the minimized signal is written to Kafka. Refusals are RFC 9457 problem "
            "documents naming a field path and a reason code, never a value. CloudEvents 1.0 "
            "are accepted on every POST, in structured mode (application/cloudevents+json) "
            "and in binary mode (ce-* headers, the body being the event data). Callers send "
            "a bearer token, or sign with Standard Webhooks (webhook-id, webhook-timestamp, "
            "webhook-signature); every credential sent must verify. Credentials are checked "
            "from the headers before the body is read; requests not authenticated by their "
            "headers are limited per client address, apart from each credential's allowance. "
            "Compressed bodies (Content-Encoding) are refused.",
        },
        "paths": {
            "/v1/reports": {
                "post": _post(
                    "Send a native report",
                    "A report in the native format (docs/native-report-v1.md); with "
                    "?format= also a FHIR AdverseEvent.",
                    {
                        "application/json": {"schema": native},
                        "application/cloudevents+json": {
                            "schema": {"$ref": "#/components/schemas/CloudEvent"}
                        },
                    },
                    {
                        "parameters": [
                            {
                                "name": "format",
                                "in": "query",
                                "required": False,
                                "schema": {
                                    "type": "string",
                                    "enum": ["native", "fhir-r4", "fhir-r5", "auto"],
                                    "default": "native",
                                },
                            }
                        ]
                    },
                )
            },
            "/fhir/AdverseEvent": {
                "post": _post(
                    "Send a FHIR AdverseEvent (R4, R4B or R5)",
                    "The release is taken from the fhirVersion media-type parameter "
                    "(4.0, 4.3, 5.0), else recognised by shape.",
                    _fhir_media(adverse_event),
                )
            },
            "/fhir/subscription": {
                "post": _post(
                    "Receive a FHIR subscription notification",
                    "A notification Bundle of a topic-based subscription (R5, R4B, or the R4 "
                    "backport). Handshake, heartbeat and query-status notifications are "
                    "answered 200 and write nothing. full-resource notifications may carry "
                    "several AdverseEvents; id-only ones are read back from the configured "
                    "FHIR server asking only for the elements the boundary reads.",
                    _fhir_media(bundle),
                    {
                        "responses": {
                            "200": {"$ref": "#/components/responses/Acknowledged"},
                            **_post_responses(502),
                        }
                    },
                )
            },
            "/health/live": {"get": _get("Liveness", "application/json", ANY_OBJECT)},
            "/health/ready": {
                "get": {
                    **_get(
                        "Readiness: the broker answers, the directory is loaded, and some "
                        "caller can be accepted",
                        "application/json",
                        ANY_OBJECT,
                    ),
                    "responses": {
                        "200": {"description": "Ready"},
                        "503": {"description": "Not ready; the body says which part waits"},
                    },
                }
            },
            "/metrics": {"get": _get("Prometheus metrics", "text/plain", {"type": "string"})},
            "/openapi.json": {"get": _get("This document", "application/json", ANY_OBJECT)},
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "webhook": {
                    "type": "apiKey",
                    "in": "header",
                    "name": webhooks.SIGNATURE_HEADER,
                    "description": "Standard Webhooks (https://www.standardwebhooks.com): "
                    "with webhook-id and webhook-timestamp; each id is accepted once.",
                },
                "signature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": SIGNATURE_HEADER,
                    "description": "sha256=<hex HMAC-SHA-256 of the raw body>; only where "
                    "PSB_INGEST_ALLOW_BODY_HMAC is set (it can be replayed).",
                },
            },
            "schemas": {
                "NativeReport": {
                    "type": "object",
                    "required": ["format", "version", "report_id", "source_system"],
                    "properties": {
                        "format": {"const": "peer-support-bridge/incident-report"},
                        "version": {"const": 1},
                        "report_id": {"type": "string"},
                        "source_system": {"type": "string"},
                        "reported_at": {"type": "string", "format": "date-time"},
                        "unit_code": {"type": "string"},
                        "category_codes": {"type": "array", "items": {"type": "string"}},
                        "severity": {"type": "string"},
                        "staff": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "staff_ref": {"type": "string"},
                                    "role": {"enum": ["reporter", "involved", "witness"]},
                                },
                            },
                        },
                    },
                },
                "AdverseEvent": {
                    "type": "object",
                    "required": ["resourceType"],
                    "properties": {"resourceType": {"const": "AdverseEvent"}},
                },
                "NotificationBundle": {
                    "type": "object",
                    "required": ["resourceType", "type", "entry"],
                    "properties": {
                        "resourceType": {"const": "Bundle"},
                        "type": {"enum": ["subscription-notification", "history"]},
                        "entry": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "CloudEvent": {
                    "type": "object",
                    "required": ["specversion", "id", "source", "type"],
                    "properties": {
                        "specversion": {"const": "1.0"},
                        "id": {"type": "string"},
                        "source": {"type": "string"},
                        "type": {"type": "string"},
                        "datacontenttype": {"type": "string"},
                        "data": {"type": "object"},
                        "data_base64": {"type": "string"},
                    },
                },
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "reason"],
                    "properties": {
                        "type": {"type": "string", "format": "uri"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "reason": {"type": "string", "description": "Reason code."},
                        "field": {"type": "string", "description": "Field path, never a value."},
                    },
                },
            },
            "responses": {
                "Accepted": {
                    "description": "Stored: the broker acknowledged every signal.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "status": {"const": "accepted"},
                                    "accepted": {"type": "integer"},
                                    "incidents": {"type": "array", "items": {"type": "string"}},
                                    "dropped": {
                                        "type": "array",
                                        "description": "Values the boundary did not copy "
                                        "(an unknown code, an identifier), by field and "
                                        "reason; never the value.",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "field": {"type": "string"},
                                                "reason": {"type": "string"},
                                            },
                                        },
                                    },
                                },
                            }
                        }
                    },
                },
                "Acknowledged": {
                    "description": "A notification without events (handshake, heartbeat).",
                    "content": {"application/json": {"schema": ANY_OBJECT}},
                },
                "Problem": {
                    "description": "Refused; see reason and field.",
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                },
                "Unavailable": {
                    "description": "Not stored (the broker, or too many unverified bodies "
                    "at once); retry after the Retry-After seconds.",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                },
            },
        },
    }
