"""Every AdverseEvent among the official HL7 examples passes the boundary, and nothing of
its patient, narrative, notes or display strings comes out.

The examples are read in place from ``../shared/fhir-examples`` (never copied here).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from schemas.boundary import minimize
from tests.conftest import SHARED
from tests.unit.helpers import KEY, RECEIVED_AT

EXAMPLES = SHARED / "fhir-examples"

# Values at these keys may legitimately reach the signal (as codes or staff references).
ALLOWED_KEYS = {"code", "reference", "actuality", "value", "resourceType", "status", "system"}
WORD = re.compile(r"[^\W\d_]{5,}", re.UNICODE)


def adverse_events(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, dict):
        if document.get("resourceType") == "AdverseEvent":
            yield document
        for value in document.values():
            yield from adverse_events(value)
    elif isinstance(document, list):
        for value in document:
            yield from adverse_events(value)


def example_events() -> list[tuple[str, dict[str, Any]]]:
    if not EXAMPLES.is_dir():
        return []
    found = []
    for path in sorted(EXAMPLES.rglob("*.json")):
        for index, event in enumerate(adverse_events(json.loads(path.read_text()))):
            found.append((f"{path.relative_to(EXAMPLES)}#{index}", event))
    return found


def strings(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for child_key, value in node.items():
            yield from strings(value, child_key)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value, key)
    elif isinstance(node, str):
        yield key, node


def forbidden_words(event: dict[str, Any]) -> set[str]:
    """Words of every string that must not pass (narrative, displays, notes, texts,
    comments, patient references), minus words that also occur in values allowed to pass."""
    forbidden: set[str] = set()
    allowed: set[str] = set()
    for key, value in strings(event):
        words = {word.lower() for word in WORD.findall(value)}
        (allowed if key in ALLOWED_KEYS else forbidden).update(words)
    subject = event.get("subject", {}).get("reference")
    if subject:
        forbidden.add(subject.lower())
    return forbidden - allowed


EVENTS = example_events()


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"official FHIR examples not found at {EXAMPLES}")
def test_the_examples_folder_holds_adverse_events() -> None:
    assert len(EVENTS) >= 10


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"official FHIR examples not found at {EXAMPLES}")
@pytest.mark.parametrize(("name", "event"), EVENTS, ids=[name for name, _ in EVENTS])
def test_official_example_minimizes_without_leaking(name: str, event: dict[str, Any]) -> None:
    signal = minimize(event, KEY, received_at=RECEIVED_AT)
    output = " ".join(value for _, value in strings(signal.model_dump(mode="json"))).lower()
    leaked = {word for word in forbidden_words(event) if word in output}
    assert not leaked, f"{name}: {sorted(leaked)}"
    for involved in signal.staff:  # only as keyed pseudonyms of Practitioner(Role) references
        assert involved.person.startswith("stf_")
