"""The sample subscription notifications we ship are valid FHIR of the release they name,
so an integrator can compare their server's Bundles with them field by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.bundle import Bundle as R5Bundle
from fhir.resources.R4B.bundle import Bundle as R4BBundle

SUBSCRIPTIONS = Path(__file__).resolve().parents[2] / "peer_support/samples/subscriptions"
SAMPLES = sorted(SUBSCRIPTIONS.glob("*.json"))


def test_every_release_and_payload_kind_ships() -> None:
    assert {p.name for p in SAMPLES} == {
        f"{release}-{payload}.json"
        for release in ("r4b", "r5")
        for payload in ("full-resource", "id-only")
    }


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_the_sample_is_a_valid_notification_bundle_of_its_release(sample: Path) -> None:
    document = json.loads(sample.read_text())
    (R4BBundle if sample.name.startswith("r4b") else R5Bundle).model_validate(document)
    status, event = document["entry"]
    assert status["resource"]["resourceType"] == "SubscriptionStatus"
    focus = status["resource"]["notificationEvent"][0]["focus"]["reference"]
    assert focus == event["fullUrl"] and "/AdverseEvent/" in focus
    full = sample.name.endswith("full-resource.json")
    assert ("resource" in event) is full
