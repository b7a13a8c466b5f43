"""The OpenAPI 3.1 description of the ingest API, served at ``/openapi.json``.

Built from the models the server itself uses: the native report is the boundary's
:class:`NativeIncidentReport`, the answers are :mod:`outcomes`, so the document cannot say
one thing while the server does another. FHIR bodies are described loosely (the FHIR
specification is their schema; the elements read are in docs/sources.md). Where the server
refuses what a model alone would allow, the document is tightened to match (``staff``: at
most as many distinct people as a signal holds). Examples are the shipped samples, cut to
the elements the boundary reads, so they carry no free text. A test proves it is a valid
document, and schemathesis proves the server keeps to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any, Final

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from connectors.ingest import webhooks
from connectors.ingest.auth import SIGNATURE_HEADER
from connectors.ingest.cloudevents import BATCH, STRUCTURED
from connectors.ingest.outcomes import Accepted, Acknowledged, Live, ProblemDocument, Ready
from connectors.ingest.settings import IngestSettings
from schemas.boundary.fhir_r4 import AdverseEventR4
from schemas.boundary.fhir_r5 import AdverseEventR5
from schemas.report import NativeIncidentReport
from schemas.signal import MAX_STAFF

JSON: Final = "application/json"
FHIR_JSON: Final = "application/fhir+json"
PROBLEM_JSON: Final = "application/problem+json"
FHIR_VERSIONS: Final = ("4.0", "4.3", "5.0")
REF: Final = "#/components/schemas/{model}"
DEFAULT_MAX_BATCH_EVENTS: Final[int] = IngestSettings.model_fields["max_batch_events"].default
SAMPLES: Final = resources.files("peer_support") / "samples"
READ_ELEMENTS: Final = frozenset(AdverseEventR4.model_fields).union(AdverseEventR5.model_fields)
"""The AdverseEvent elements the boundary reads: all an example keeps."""
FREE_TEXT: Final = frozenset({"display", "text", "div", "note"})

STATUS_TEXT: Final[dict[int, str]] = {
    400: "Malformed: not JSON, a JSON that is no object, an invalid CloudEvent or batch, an "
    "unknown format parameter, or a body that ended early.",
    401: "No credential, or one that does not verify.",
    404: "No such path.",
    405: "The method is not served on this path (see Allow).",
    408: "The body did not arrive within PSB_INGEST_BODY_TIMEOUT_S.",
    409: "This webhook-id was accepted before; nothing is written twice.",
    413: "The body is larger than PSB_INGEST_MAX_BODY_BYTES, or a batch holds more events "
    "than PSB_INGEST_MAX_BATCH_EVENTS.",
    415: "The media type (Content-Type, a CloudEvent's datacontenttype or its fhirVersion) "
    "is not taken here, or the body is compressed.",
    417: "An Expect header other than 100-continue.",
    422: "Well-formed but not acceptable: the field and reason say what to change. For a "
    "batch none of whose events was accepted, 'events' lists each one's problem.",
    429: "Too many requests from this credential or client address; retry after Retry-After.",
    502: "An id-only notification's AdverseEvent could not be read from the FHIR server.",
    503: "Not stored (the broker did not acknowledge in time, or too many unverified bodies "
    "at once); retry after Retry-After.",
}
RETRY_AFTER: Final = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
STATUS_HEADERS: Final[dict[int, dict[str, Any]]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}}},
    405: {"Allow": {"schema": {"type": "string"}}},
    429: RETRY_AFTER,
    503: RETRY_AFTER,
}
POST_PROBLEMS: Final = (400, 401, 404, 405, 408, 409, 413, 415, 417, 422, 429, 503)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _model(model: type[BaseModel], schemas: dict[str, Any], name: str | None = None) -> None:
    """The model's JSON Schema under ``name``, the models it holds beside it."""
    mode: JsonSchemaMode = "validation" if model is NativeIncidentReport else "serialization"
    schema = model.model_json_schema(ref_template=REF, mode=mode)
    schemas.update(schema.pop("$defs", {}))
    schemas[name or model.__name__] = schema


def _schemas(max_batch_events: int) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in (ProblemDocument, Accepted, Acknowledged, Live, Ready):
        _model(model, schemas)
    _model(NativeIncidentReport, schemas, "NativeReport")
    native = schemas["NativeReport"]
    native["description"] = (
        "A native report (docs/native-report-v1.md). Only these fields are read; any other "
        "field (free text, patient details) may be present and is ignored, never kept."
    )
    native["properties"]["staff"]["maxItems"] = MAX_STAFF
    native["properties"]["staff"]["description"] = (
        f"At most {MAX_STAFF} entries, as a signal names at most {MAX_STAFF} people."
    )
    schemas["AdverseEvent"] = {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"const": "AdverseEvent"}},
        "description": "A FHIR AdverseEvent, R4/R4B or R5, as the FHIR specification defines "
        "it; only the elements listed in docs/sources.md are read. It needs an identifier or "
        "an id.",
    }
    schemas["NotificationBundle"] = {
        "type": "object",
        "required": ["resourceType", "type", "entry"],
        "properties": {
            "resourceType": {"const": "Bundle"},
            "type": {"enum": ["subscription-notification", "history"]},
            "entry": {"type": "array", "items": {"type": "object"}},
        },
        "description": "A topic-based subscription notification: R5, R4B, or the R4 backport.",
    }
    fhir_types = [FHIR_JSON, *(f"{FHIR_JSON}; fhirVersion={v}" for v in FHIR_VERSIONS)]
    schemas["ReportEvent"] = _cloud_event(
        "A structured CloudEvent whose data is a native report, or with a FHIR "
        "datacontenttype an AdverseEvent.",
        [
            _data_variant([JSON], "NativeReport", required=False),
            _data_variant(fhir_types, "AdverseEvent", required=True),
            _base64_variant([JSON, *fhir_types]),
        ],
    )
    schemas["AdverseEventEvent"] = _cloud_event(
        "A structured CloudEvent whose data is a FHIR AdverseEvent.",
        [
            _data_variant([JSON, *fhir_types], "AdverseEvent", required=False),
            _base64_variant([JSON, *fhir_types]),
        ],
    )
    schemas["NotificationEvent"] = _cloud_event(
        "A structured CloudEvent whose data is a subscription notification Bundle.",
        [
            _data_variant([JSON, *fhir_types], "NotificationBundle", required=False),
            _base64_variant([JSON, *fhir_types]),
        ],
    )
    for name in ("ReportEvent", "AdverseEventEvent"):
        schemas[f"{name}Batch"] = {
            "type": "array",
            "minItems": 1,
            "maxItems": max_batch_events,
            "items": _ref(name),
            "description": "A CloudEvents JSON batch: each event is judged on its own. "
            f"At most PSB_INGEST_MAX_BATCH_EVENTS ({max_batch_events}) events.",
        }
    return schemas


def _cloud_event(description: str, variants: list[dict[str, Any]]) -> dict[str, Any]:
    non_empty = {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "description": f"{description} Extension attributes are ignored.",
        "required": ["specversion", "id", "source", "type"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": non_empty,
            "source": non_empty,
            "type": non_empty,
        },
        "anyOf": variants,
    }


def _data_variant(media_types: list[str], data: str, *, required: bool) -> dict[str, Any]:
    return {
        "required": ["data", "datacontenttype"] if required else ["data"],
        "not": {"required": ["data_base64"]},
        "properties": {"datacontenttype": {"enum": media_types}, "data": _ref(data)},
    }


def _base64_variant(media_types: list[str]) -> dict[str, Any]:
    return {
        "required": ["data_base64", "datacontenttype"],
        "properties": {
            "datacontenttype": {"enum": media_types},
            "data_base64": {
                "type": "string",
                "contentEncoding": "base64",
                "description": "The data as base64 of its JSON.",
            },
        },
    }


def _responses(success: dict[str, Any], problems: tuple[int, ...]) -> dict[str, Any]:
    responses = dict(success)
    for status in problems:
        response: dict[str, Any] = {
            "description": STATUS_TEXT[status],
            "content": {PROBLEM_JSON: {"schema": _ref("ProblemDocument")}},
        }
        if status in STATUS_HEADERS:
            response["headers"] = STATUS_HEADERS[status]
        responses[str(status)] = response
    return dict(sorted(responses.items()))


ACCEPTED: Final = {
    "202": {
        "description": "Stored: the broker acknowledged every signal. For a batch, 'events' "
        "gives each event's outcome by its index; refused events are not stored.",
        "content": {JSON: {"schema": _ref("Accepted")}},
    }
}


def _body(media: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    content = {}
    for media_type, (schema, examples) in media.items():
        content[media_type] = {"schema": _ref(schema)}
        if examples:
            content[media_type]["examples"] = examples
    return {"required": True, "content": content}


def _post(
    summary: str,
    description: str,
    media: dict[str, tuple[str, dict[str, Any]]],
    success: dict[str, Any],
    problems: tuple[int, ...] = POST_PROBLEMS,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "description": description,
        "security": [
            {"bearer": []},
            {"webhookId": [], "webhookTimestamp": [], "webhookSignature": []},
            {"bodySignature": []},
        ],
        "requestBody": _body(media),
        "responses": _responses(success, problems),
    }
    if parameters:
        operation["parameters"] = parameters
    return operation


def _get(summary: str, content_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": [],
        "responses": {"200": {"description": "OK", "content": {content_type: {"schema": schema}}}},
    }


def _security_schemes() -> dict[str, Any]:
    webhook = "Standard Webhooks (https://www.standardwebhooks.com), sent together: "
    return {
        "bearer": {"type": "http", "scheme": "bearer"},
        "webhookId": {
            "type": "apiKey",
            "in": "header",
            "name": webhooks.ID_HEADER,
            "description": f"{webhook}the message id, accepted once (409 when seen again).",
        },
        "webhookTimestamp": {
            "type": "apiKey",
            "in": "header",
            "name": webhooks.TIMESTAMP_HEADER,
            "description": f"{webhook}the send time in Unix seconds, within "
            "PSB_INGEST_WEBHOOK_TOLERANCE_S of the server's clock.",
        },
        "webhookSignature": {
            "type": "apiKey",
            "in": "header",
            "name": webhooks.SIGNATURE_HEADER,
            "description": f"{webhook}space-separated 'v1,<base64 HMAC-SHA-256 of "
            "id.timestamp.body>'.",
        },
        "bodySignature": {
            "type": "apiKey",
            "in": "header",
            "name": SIGNATURE_HEADER,
            "description": "sha256=<hex HMAC-SHA-256 of the raw body>; only where "
            "PSB_INGEST_ALLOW_BODY_HMAC is set (it can be replayed).",
        },
    }


@cache
def openapi_document(max_batch_events: int = DEFAULT_MAX_BATCH_EVENTS) -> dict[str, Any]:
    """The document as served by a server taking batches of ``max_batch_events``."""
    native, adverse_events, bundles = _examples()
    batch_example = _batch_example(native, adverse_events)
    report_events = {
        name: {"summary": example["summary"], "value": _structured(example["value"], JSON)}
        for name, example in native.items()
    }
    fhir_events = {
        name: {"summary": example["summary"], "value": _structured(example["value"], FHIR_JSON)}
        for name, example in adverse_events.items()
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "peer-support-bridge ingest",
            "version": "1",
            "description": "Incident reports in. Each report passes the privacy boundary here "
            "and only the minimized signal is written to Kafka. Refusals are RFC 9457 problem "
            "documents naming a field path and a reason code, never a value. CloudEvents 1.0 "
            "are accepted on every POST, in structured mode (application/cloudevents+json) "
            "and in binary mode (ce-* headers, the body being the event data); the report "
            "routes also take a batch (application/cloudevents-batch+json). Callers send a "
            "bearer token, or sign with Standard Webhooks (webhook-id, webhook-timestamp, "
            "webhook-signature); every credential sent must verify. Credentials are checked "
            "from the headers before the body is read; requests not authenticated by their "
            "headers are limited per client address, apart from each credential's allowance. "
            "Compressed bodies (Content-Encoding) are refused.",
        },
        "paths": {
            "/v1/reports": {
                "post": _post(
                    "Send a report",
                    "A native report (docs/native-report-v1.md), or a FHIR AdverseEvent sent "
                    "as application/fhir+json. A batch of CloudEvents is answered 202 when at "
                    "least one event was accepted and stored, 422 when none was.",
                    {
                        JSON: ("NativeReport", native),
                        FHIR_JSON: ("AdverseEvent", adverse_events),
                        STRUCTURED: ("ReportEvent", report_events),
                        BATCH: ("ReportEventBatch", {"batch": batch_example}),
                    },
                    ACCEPTED,
                    parameters=[
                        {
                            "name": "format",
                            "in": "query",
                            "required": False,
                            "description": "How to read the body. Without it, a native "
                            "report, or with a FHIR media type a FHIR AdverseEvent. fhir-r4, "
                            "fhir-r5 and auto read a FHIR AdverseEvent whatever the media "
                            "type says; native reads a native report.",
                            "schema": {
                                "type": "string",
                                "enum": ["native", "fhir-r4", "fhir-r5", "auto"],
                            },
                        }
                    ],
                )
            },
            "/fhir/AdverseEvent": {
                "post": _post(
                    "Send a FHIR AdverseEvent (R4, R4B or R5)",
                    "The release is taken from the fhirVersion media-type parameter "
                    "(4.0, 4.3, 5.0), else recognised by shape. A batch of CloudEvents is "
                    "answered 202 when at least one event was accepted and stored, 422 when "
                    "none was.",
                    {
                        FHIR_JSON: ("AdverseEvent", adverse_events),
                        JSON: ("AdverseEvent", adverse_events),
                        STRUCTURED: ("AdverseEventEvent", fhir_events),
                        BATCH: ("AdverseEventEventBatch", {}),
                    },
                    ACCEPTED,
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
                    {
                        FHIR_JSON: ("NotificationBundle", bundles),
                        JSON: ("NotificationBundle", bundles),
                        STRUCTURED: ("NotificationEvent", {}),
                    },
                    {
                        "200": {
                            "description": "A notification without events: nothing written.",
                            "content": {JSON: {"schema": _ref("Acknowledged")}},
                        },
                        **ACCEPTED,
                    },
                    problems=(*POST_PROBLEMS, 502),
                )
            },
            "/health/live": {"get": _get("Liveness", JSON, _ref("Live"))},
            "/health/ready": {
                "get": {
                    **_get(
                        "Readiness: the broker answers, the directory is loaded, and some "
                        "caller can be accepted",
                        JSON,
                        _ref("Ready"),
                    ),
                    "responses": {
                        "200": {
                            "description": "Ready",
                            "content": {JSON: {"schema": _ref("Ready")}},
                        },
                        "503": {
                            "description": "Not ready; the body says which part waits",
                            "content": {JSON: {"schema": _ref("Ready")}},
                        },
                    },
                }
            },
            "/metrics": {"get": _get("Prometheus metrics", "text/plain", {"type": "string"})},
            "/openapi.json": {"get": _get("This document", JSON, {"type": "object"})},
        },
        "components": {
            "securitySchemes": _security_schemes(),
            "schemas": _schemas(max_batch_events),
        },
    }


Examples = dict[str, dict[str, Any]]


def _examples() -> tuple[Examples, Examples, Examples]:
    """The shipped samples the server accepts: native reports, AdverseEvents and
    notification Bundles, each cut to what the boundary reads."""
    native: Examples = {}
    adverse_events: Examples = {}
    for name, sample in _samples("reports"):
        if sample.get("resourceType") == "AdverseEvent":
            adverse_events[name] = {"summary": name, "value": _read_elements(sample)}
        elif _is_native(sample):
            kept = {key: sample[key] for key in NativeIncidentReport.model_fields if key in sample}
            native[name] = {"summary": name, "value": kept}
    bundles = {
        name: {"summary": name, "value": _cut_bundle(sample)}
        for name, sample in _samples("subscriptions")
    }
    return native, adverse_events, bundles


def _samples(folder: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The samples that are JSON objects (not the malformed one, which shows a refusal)."""
    for item in sorted(SAMPLES.joinpath(folder).iterdir(), key=lambda item: item.name):
        if not item.name.endswith(".json"):
            continue
        try:
            sample = json.loads(item.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if isinstance(sample, dict):
            yield item.name.removesuffix(".json"), sample


def _is_native(sample: dict[str, Any]) -> bool:
    try:
        NativeIncidentReport.model_validate(sample)
    except ValueError:
        return False
    return True


def _read_elements(event: dict[str, Any]) -> dict[str, Any]:
    kept = {key: value for key, value in event.items() if key in READ_ELEMENTS}
    cut: dict[str, Any] = _without_free_text(kept)
    return cut


def _without_free_text(node: Any) -> Any:
    """No display text, narrative or note, and nothing that points at a patient."""
    if isinstance(node, dict):
        return {
            key: _without_free_text(value)
            for key, value in node.items()
            if key not in FREE_TEXT and not (isinstance(value, dict) and _names_patient(value))
        }
    if isinstance(node, list):
        return [_without_free_text(item) for item in node if not _names_patient(item)]
    return node


def _names_patient(node: Any) -> bool:
    if isinstance(node, dict):
        reference = node.get("reference")
        if isinstance(reference, str) and reference.startswith("Patient/"):
            return True
        return any(_names_patient(value) for value in node.values())
    if isinstance(node, list):
        return any(_names_patient(item) for item in node)
    return False


def _cut_bundle(bundle: dict[str, Any]) -> dict[str, Any]:
    entries = []
    for entry in bundle.get("entry", []):
        resource = entry.get("resource")
        if isinstance(resource, dict) and resource.get("resourceType") == "AdverseEvent":
            entry = {**entry, "resource": _read_elements(resource)}
        entries.append(entry)
    return {**bundle, "entry": entries}


def _structured(data: dict[str, Any], content_type: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"evt-{data.get('report_id') or data.get('id')}",
        "source": "urn:example:reporting-system",
        "type": "org.example.incident.reported",
        "datacontenttype": content_type,
        "data": data,
    }


def _batch_example(native: Examples, adverse_events: Examples) -> dict[str, Any]:
    events = [_structured(example["value"], JSON) for example in native.values()]
    events += [_structured(example["value"], FHIR_JSON) for example in adverse_events.values()]
    return {"summary": "every sample report, one event each", "value": events}
