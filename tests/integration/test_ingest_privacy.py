"""Nothing a caller sends comes back out of the ingest server, except as the boundary's
codes: not on any topic, not in a refusal, not in the log.

Reports full of marker strings (the generators of the unit-level privacy test) are sent
in every shape: native, FHIR R4/R5, wrapped in subscription Bundles and CloudEvents, and
read back for id-only notifications from a FHIR server that ignores ``_elements``. Then
every topic of the deployment is read from the beginning.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.ingest.auth import SIGNATURE_HEADER
from runtime.settings import KafkaSettings
from tests.support.fhir_bundles import r4b_notification, r5_notification
from tests.support.fhir_server import FhirStandIn
from tests.unit.helpers import native_report
from tests.unit.test_privacy_markers import (
    broken_variants,
    fhir_r4_reports,
    fhir_r5_reports,
    native_reports,
)
from tools.ingest import TOKEN, IngestProcess, webhook_headers
from tools.kafka import records

FHIR_JSON = "application/fhir+json"
MARKER = "MRKREFUSAL0000X"
CASES = settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def every_record(kafka: KafkaSettings) -> str:
    """Keys and values of every record on every topic of this deployment's prefix."""
    return records(kafka, kafka.topic_prefix)


def test_marker_reports_in_every_shape_leave_no_trace(
    ingest: IngestProcess, fhir: FhirStandIn, kafka: KafkaSettings
) -> None:
    markers: list[str] = []
    refusals: list[str] = []
    accepted = 0

    @CASES
    @given(st.data())
    def send(data: st.DataObject) -> None:
        nonlocal accepted
        native, native_markers = data.draw(native_reports())
        r4, r4_markers = data.draw(fhir_r4_reports())
        r5, r5_markers = data.draw(fhir_r5_reports())
        markers.extend(native_markers + r4_markers + r5_markers)
        number = len(fhir.resources)
        fhir.resources[f"p{number}"] = {**r5, "id": f"p{number}"}
        structured = {
            "specversion": "1.0",
            "id": "e1",
            "source": "urn:test",
            "type": "incident",
            "datacontenttype": "application/json",
            "data": native,
        }
        sent = [
            ingest.post("/v1/reports", native),
            ingest.post("/fhir/AdverseEvent", r4, FHIR_JSON),
            ingest.post("/fhir/AdverseEvent", r5, FHIR_JSON),
            ingest.post("/v1/reports", structured, "application/cloudevents+json"),
            ingest.post("/fhir/subscription", r4b_notification([r4]), FHIR_JSON),
            ingest.post("/fhir/subscription", r5_notification([r5]), FHIR_JSON),
            ingest.post(
                "/fhir/subscription",
                r5_notification(ids=[f"p{number}"], base=fhir.base_url),
                FHIR_JSON,
            ),
        ]
        for response in sent:
            assert response.status_code == 202, response.text
            accepted += 1
        for document, path in [(native, "/v1/reports"), (r4, "/fhir/AdverseEvent")]:
            for broken in broken_variants(document):
                response = ingest.post(path, broken, FHIR_JSON)
                assert 400 <= response.status_code < 500, response.text
                refusals.append(response.text)

    send()
    assert accepted and markers
    found = every_record(kafka)
    assert "incident-signal" in found, "the signals themselves were read"
    outputs = {"topics": found, "refusals": "\n".join(refusals), "log": ingest.log()}
    for where, text in outputs.items():
        leaked = [marker for marker in markers if marker in text]
        assert not leaked, f"{where} leaked {leaked[:5]}"


def deep(depth: int) -> bytes:
    return ('{"a":' + "[" * depth + f'"{MARKER}"' + "]" * depth + "}").encode()


def forged_webhook(header: str, value: str) -> dict[str, str]:
    """Standard Webhooks headers, signed now for another body, one of them replaced."""
    return {**webhook_headers(MARKER.encode(), msg_id=MARKER), header: value}


BAD_INPUT: list[tuple[str, dict[str, Any]]] = [
    ("invalid JSON", {"body": b'{"report_id": "' + MARKER.encode() + b'", ', "status": 400,
                      "reason": "invalid-json"}),
    ("wrong content type", {"content_type": "text/plain", "status": 415,
                            "reason": "unsupported-media-type"}),
    ("oversized body", {"body": json.dumps(native_report(title=MARKER * 6000)).encode(),
                        "status": 413, "reason": "too-large"}),
    ("deep nesting", {"body": deep(300), "status": 400, "reason": "too-deep"}),
    ("wrong signature", {"token": None, "headers": lambda: forged_webhook("webhook-signature",
                                                                         "v1,AAAA"),
                         "status": 401, "reason": "bad-signature", "field": "webhook-signature"}),
    ("body hmac not allowed", {"token": None, "headers": {SIGNATURE_HEADER: "sha256=" + "0" * 64},
                               "status": 401, "reason": "unverifiable-credential"}),
    ("malformed webhook id", {"token": None, "headers": lambda: forged_webhook("webhook-id",
                                                                              f"{MARKER} x"),
                              "status": 401, "reason": "malformed-credentials",
                              "field": "webhook-id"}),
    ("missing token", {"token": None, "status": 401, "reason": "unauthorized"}),
    ("wrong token", {"token": MARKER, "status": 401, "reason": "unauthorized"}),
    ("unknown format parameter", {"params": {"format": MARKER}, "status": 400,
                                  "reason": "unknown-format"}),
    ("unknown document format", {"body": json.dumps({"resourceType": "Patient", "name": MARKER})
                                 .encode(), "params": {"format": "auto"}, "status": 422,
                                 "reason": "unsupported-format"}),
    ("not a notification bundle", {"path": "/fhir/subscription", "content_type": FHIR_JSON,
                                   "status": 422, "reason": "missing"}),
    ("invalid field", {"body": json.dumps(native_report(staff=[{"staff_ref": "e", "role": MARKER}]))
                       .encode(), "status": 422, "reason": "not-allowed-value",
                       "field": "staff.0.role"}),
    ("duplicate key", {"body": b'{"report_id": "a", "report_id": "' + MARKER.encode() + b'"}',
                       "status": 400, "reason": "duplicate-key"}),
    ("cloudevent without id", {"content_type": "application/cloudevents+json",
                               "body": json.dumps({"specversion": "1.0", "source": MARKER,
                                                   "type": "t", "data": {}}).encode(),
                               "status": 400, "reason": "invalid-cloudevent", "field": "id"}),
    ("empty body", {"body": b"", "status": 400, "reason": "empty"}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "spec"), BAD_INPUT, ids=[case for case, _ in BAD_INPUT])
def test_bad_input_gets_a_problem_document_without_its_values(
    case: str, spec: dict[str, Any], ingest: IngestProcess
) -> None:
    body = spec.get("body", json.dumps(native_report(report_id=MARKER)).encode())
    headers = spec.get("headers")
    response = ingest.post(
        spec.get("path", "/v1/reports"),
        body,
        spec.get("content_type", "application/json"),
        token=spec.get("token", TOKEN),
        headers=headers() if callable(headers) else headers,  # signed when sent: in time
        params=spec.get("params"),
    )
    assert response.status_code == spec["status"], response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == spec["status"]
    assert problem["reason"] == spec["reason"]
    assert problem["type"].endswith(spec["reason"])
    if "field" in spec:
        assert problem["field"] == spec["field"]
    assert MARKER not in response.text
    assert MARKER not in ingest.log()
