"""The ingest server's single-purpose parts: notification reading, CloudEvents unwrapping,
authentication, rate limiting, problem documents, and the OpenAPI document's routes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from connectors.ingest.app import ROUTES
from connectors.ingest.auth import SIGNATURE_HEADER, Authenticator, sign
from connectors.ingest.cloudevents import unwrap
from connectors.ingest.notifications import AdverseEventRef, read_notification
from connectors.ingest.openapi import openapi_document
from connectors.ingest.problems import Problem
from connectors.ingest.ratelimit import RateLimiter
from connectors.ingest.settings import FhirReadSettings, IngestSettings
from peer_support.settings_errors import describe
from schemas.boundary import BoundaryError, InputFormat
from schemas.dead_letter import Reason
from tests.conftest import SHARED
from tests.support.fhir_bundles import r4_backport_notification, r4b_notification, r5_notification
from tests.unit.helpers import fixture

EXAMPLES = SHARED / "fhir-examples"


def official(path: str) -> dict[str, Any]:
    file = EXAMPLES / path
    if not file.is_file():
        pytest.skip(f"official examples not present at {EXAMPLES}")
    document: dict[str, Any] = json.loads(file.read_text())
    return document


@pytest.mark.parametrize(
    ("example", "kind"),
    [
        ("R4B/notification-handshake.json", "handshake"),
        ("R4B/notification-heartbeat.json", "heartbeat"),
        ("R4B/notification-empty.json", "event-notification"),
        ("R5-json/notification-handshake.json", "handshake"),
        ("R5-json/notification-heartbeat.json", "heartbeat"),
        ("R5-json/notification-id-only.json", "event-notification"),
        ("R5-json/notification-full-resource-with-patient.json", "event-notification"),
        ("R5-json/notification-query-event.json", "query-event"),
    ],
)
def test_official_notifications_are_read_and_name_no_adverse_event(example: str, kind: str) -> None:
    content = read_notification(official(example))
    assert content.kind == kind
    assert content.resources == [] and content.references == []


@pytest.mark.parametrize(
    ("build", "fmt"),
    [
        (r5_notification, InputFormat.FHIR_R5),
        (r4b_notification, InputFormat.FHIR_R4),
        (r4_backport_notification, InputFormat.FHIR_R4),
    ],
)
def test_full_resource_and_id_only_events_are_told_apart(build: Any, fmt: InputFormat) -> None:
    events = [{**fixture("r5-participants.json"), "id": f"e{n}"} for n in range(3)]
    content = read_notification(build(events, ["x1", "x2"], base="https://fhir.example/r"))
    assert content.fhir_format is fmt
    assert [prefix for prefix, _ in content.resources] == [
        "entry.1.resource.",
        "entry.2.resource.",
        "entry.3.resource.",
    ]
    assert content.references == [
        AdverseEventRef("https://fhir.example/r", "x1"),
        AdverseEventRef("https://fhir.example/r", "x2"),
    ]


def test_a_bundle_of_another_kind_is_refused_with_a_path() -> None:
    with pytest.raises(BoundaryError) as caught:
        read_notification({"resourceType": "Bundle", "type": "MRKSECRET", "entry": [{}]})
    assert caught.value.path == "type" and "MRKSECRET" not in str(caught.value)
    with pytest.raises(BoundaryError) as caught:
        read_notification(r5_notification(kind="MRKSECRET"))
    assert caught.value.reason is Reason.NOT_ALLOWED_VALUE


def test_structured_cloudevent_gives_its_data_and_media_type() -> None:
    event = {
        "specversion": "1.0",
        "id": "1",
        "source": "s",
        "type": "t",
        "datacontenttype": "application/fhir+json; fhirVersion=5.0",
        "data": {"resourceType": "AdverseEvent"},
    }
    payload = unwrap("application/cloudevents+json", {}, {}, json.dumps(event).encode(), 10_000)
    assert payload.cloudevent
    assert payload.media_type == "application/fhir+json"
    assert payload.params == {"fhirversion": "5.0"}
    assert json.loads(payload.body) == {"resourceType": "AdverseEvent"}


def test_binary_cloudevent_needs_its_attributes() -> None:
    headers = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "s"}
    with pytest.raises(Problem) as caught:
        unwrap("application/json", {}, headers, b"{}", 10_000)
    assert caught.value.status == 400 and caught.value.path == "ce-type"
    payload = unwrap("application/json", {}, {**headers, "ce-type": "t"}, b"{}", 10_000)
    assert payload.cloudevent and payload.body == b"{}"


def test_batched_cloudevents_are_not_accepted() -> None:
    with pytest.raises(Problem) as caught:
        unwrap("application/cloudevents-batch+json", {}, {}, b"[]", 10_000)
    assert caught.value.status == 415


AUTH = Authenticator(token=b"right-token", hmac_secret=b"hmac-key")


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "unauthorized"),
        ({"Authorization": "Bearer wrong-token"}, "unauthorized"),
        ({"Authorization": "Basic right-token"}, "unauthorized"),
        ({SIGNATURE_HEADER: "sha256=00"}, "bad-signature"),
        ({SIGNATURE_HEADER: sign(b"other-key", b"body")}, "bad-signature"),
    ],
)
def test_wrong_or_missing_credentials_are_refused(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(Problem) as caught:
        AUTH.check(headers, b"body")
    assert (caught.value.status, caught.value.reason) == (401, reason)


def test_right_credentials_pass() -> None:
    AUTH.check({"Authorization": "Bearer right-token"}, b"body")
    AUTH.check({SIGNATURE_HEADER: sign(b"hmac-key", b"body")}, b"body")
    Authenticator(None, None, allow_unauthenticated=True).check({}, b"body")


def test_rate_limit_is_per_client_and_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(rate_per_second=1.0, burst=2, clock=lambda: now[0])
    assert [limiter.acquire("a") for _ in range(2)] == [0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(1.0)
    assert limiter.acquire("b") == 0.0
    now[0] = 1.0
    assert limiter.acquire("a") == 0.0
    assert RateLimiter.retry_after(0.2) == "1"


def test_problem_document_holds_codes_only() -> None:
    problem = Problem.from_boundary(BoundaryError(Reason.MISSING, "staff.0.role"), "entry.2.")
    document = problem.document()
    assert document["status"] == 422
    assert document["field"] == "entry.2.staff.0.role"
    assert document["type"] == "urn:peer-support-bridge:problem:missing"
    too_large = Problem.from_boundary(BoundaryError(Reason.TOO_LARGE))
    assert too_large.status == 413


def test_openapi_documents_exactly_the_routes_served() -> None:
    document = openapi_document()
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    served = {(method, path) for method, path, _ in ROUTES}
    assert documented == served
    assert document["openapi"].startswith("3.1")


def test_ingest_refuses_to_start_without_a_way_to_check_callers() -> None:
    with pytest.raises(ValidationError) as caught:
        IngestSettings()
    (line,) = describe(caught.value, IngestSettings)
    assert "PSB_INGEST_TOKEN or PSB_INGEST_HMAC_SECRET" in line
    assert IngestSettings(allow_unauthenticated=True).token is None


def test_a_private_key_that_does_not_load_is_refused_without_its_value() -> None:
    with pytest.raises(ValidationError) as caught:
        FhirReadSettings(private_key="MRKNOTAKEY")
    (line,) = describe(caught.value, FhirReadSettings)
    assert line == "PSB_INGEST_FHIR_PRIVATE_KEY is not valid (value_error)"


def test_openapi_schemas_are_valid_json_schema() -> None:
    document = openapi_document()
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    json.dumps(document)  # serialisable as served


@pytest.mark.parametrize("build", [r5_notification, r4b_notification, r4_backport_notification])
@pytest.mark.parametrize("kind", ["handshake", "heartbeat", "query-status"])
def test_notifications_without_events_carry_nothing_in_every_shape(build: Any, kind: str) -> None:
    content = read_notification(build(kind=kind))
    assert content.kind == kind
    assert content.resources == [] and content.references == []
