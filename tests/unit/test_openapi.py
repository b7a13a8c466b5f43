"""The ingest API's OpenAPI document: valid, built from the models the server uses, and
with examples an integrator can send as they are, which carry no free text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from connectors.ingest.openapi import SAMPLES, openapi_document
from connectors.ingest.outcomes import Accepted
from schemas.report import NativeIncidentReport

DOCUMENT = openapi_document()
ROUTES_WITH_BATCHES = ("/v1/reports", "/fhir/AdverseEvent")


def test_openapi_spec_validator_accepts_the_document() -> None:
    validate(DOCUMENT)
    validate(openapi_document(max_batch_events=7))


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    """``schema`` with the document's components beside it, where its references point."""
    return Draft202012Validator({"components": DOCUMENT["components"], **schema})


def _examples() -> list[tuple[str, str, str, Any, dict[str, Any]]]:
    found = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            for media_type, media in content.items():
                for name, example in media.get("examples", {}).items():
                    found.append((f"{method} {path}", media_type, name, example["value"], media))
    return found


EXAMPLES = _examples()


@pytest.mark.parametrize(
    ("operation", "media_type", "name", "value", "media"),
    EXAMPLES,
    ids=[f"{e[0]} {e[1]} {e[2]}" for e in EXAMPLES],
)
def test_every_example_follows_its_schema(
    operation: str, media_type: str, name: str, value: Any, media: dict[str, Any]
) -> None:
    errors = list(_validator(media["schema"]).iter_errors(value))
    assert not errors, [error.message for error in errors]


def test_the_samples_are_the_examples_of_every_report_media_type() -> None:
    assert len(EXAMPLES) >= 10
    report = DOCUMENT["paths"]["/v1/reports"]["post"]["requestBody"]["content"]
    assert set(report) == {
        "application/json",
        "application/fhir+json",
        "application/cloudevents+json",
        "application/cloudevents-batch+json",
    }
    assert report["application/json"]["examples"], "the native samples"
    assert report["application/fhir+json"]["examples"], "the FHIR samples"
    (batch,) = report["application/cloudevents-batch+json"]["examples"].values()
    assert len(batch["value"]) == len(report["application/json"]["examples"]) + len(
        report["application/fhir+json"]["examples"]
    )


def test_examples_carry_none_of_the_samples_free_text() -> None:
    """The samples hold made-up patients in free text to show it is ignored: the document
    shows only what the boundary reads."""
    served = json.dumps(DOCUMENT, ensure_ascii=False)
    for folder in ("reports", "subscriptions"):
        for sample in SAMPLES.joinpath(folder).iterdir():
            text = sample.read_text(encoding="utf-8")
            for marker in ("Testpasient", "fnr ", "01017012345", "Patient/", "display"):
                if marker in text:
                    assert marker not in served, (sample.name, marker)


def test_the_native_report_is_the_boundarys_model() -> None:
    """The drift the hand-written document had: reported_at required, every read field."""
    native = DOCUMENT["components"]["schemas"]["NativeReport"]
    model = NativeIncidentReport.model_json_schema()
    assert set(native["properties"]) == set(NativeIncidentReport.model_fields)
    assert native["required"] == model["required"]
    assert "reported_at" in native["required"]
    assert {"occurred_at", "seriousness", "actuality"} <= set(native["properties"])
    assert native["properties"]["staff"]["maxItems"] == 64, "what a signal can hold"


def test_every_post_documents_its_refusals_as_problem_documents() -> None:
    for path in ("/v1/reports", "/fhir/AdverseEvent", "/fhir/subscription"):
        responses = DOCUMENT["paths"][path]["post"]["responses"]
        for status in ("400", "401", "404", "405", "413", "415", "422", "429", "503"):
            (media_type,) = responses[status]["content"]
            assert media_type == "application/problem+json", (path, status)
            schema = responses[status]["content"][media_type]["schema"]
            assert schema == {"$ref": "#/components/schemas/ProblemDocument"}
        assert responses["202"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Accepted"
        }
        assert "Retry-After" in responses["429"]["headers"]
        assert "Retry-After" in responses["503"]["headers"]


def test_cloudevents_need_their_attributes_and_a_known_data_type() -> None:
    event = DOCUMENT["components"]["schemas"]["ReportEvent"]
    validator = _validator(event)
    good = {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": {}}
    assert not validator.is_valid({**good, "data": "x"})
    for attribute in ("id", "source", "type"):
        assert not validator.is_valid({**good, attribute: ""}), attribute
    assert not validator.is_valid({**good, "datacontenttype": "text/plain"})
    assert not validator.is_valid({key: v for key, v in good.items() if key != "data"})


def test_batches_are_documented_where_they_are_taken_with_the_configured_limit() -> None:
    document = openapi_document(max_batch_events=7)
    for path, item in document["paths"].items():
        content = item.get("post", {}).get("requestBody", {}).get("content", {})
        assert ("application/cloudevents-batch+json" in content) == (path in ROUTES_WITH_BATCHES)
    assert document["components"]["schemas"]["ReportEventBatch"]["maxItems"] == 7


def test_the_accepted_answer_is_described_by_the_model_the_server_answers_with() -> None:
    assert DOCUMENT["components"]["schemas"]["Accepted"]["properties"].keys() == (
        Accepted.model_fields.keys()
    )
