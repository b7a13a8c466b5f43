"""The boundary's dict readers agree with the models they are built from.

``dict_reader(model)`` validates with the model's own schema but returns plain dicts, which
is what keeps the boundary fast. Here hypothesis mutates real-shaped reports (ours and
FHIR fixtures) at random paths, with random JSON values, and every outcome must be the
same: the same values (``model_dump()``) when the model accepts, the same errors (type and
location) when it refuses.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError, model_validator

from schemas.boundary.fhir_r4 import AdverseEventR4
from schemas.boundary.fhir_r5 import AdverseEventR5
from schemas.boundary.readers import dict_reader
from schemas.report import NativeIncidentReport
from tests.unit.helpers import FIXTURES, fixture, native_report

NATIVE = native_report(
    occurred_at="2026-11-20T13:40:00+01:00",
    seriousness="serious",
    actuality="actual",
    title="Feil dose til Ola Testpasient",
    patient={"name": "Ola Testpasient"},
)
CASES: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (NativeIncidentReport, NATIVE),
    (AdverseEventR4, fixture("r4-contributors.json")),
    (AdverseEventR4, fixture("r4-patient-recorder.json")),
    (AdverseEventR5, fixture("r5-participants.json")),
    (AdverseEventR5, fixture("r5-patient-recorder.json")),
]
READERS = {model: dict_reader(model) for model, _ in CASES}

Path = tuple[str | int, ...]


def paths(node: Any, prefix: Path = ()) -> list[Path]:
    """Every place in a document a value sits, and the keys each model declares (which may
    be absent from the document)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        [
            "",
            "actual",
            "Practitioner/x-1",
            "Location/ward-7",
            "emp-1\n",
            "MED-3\n",
            "2026-11-20T14:03:00+01:00",
            "2026-11-20T14:03:00",
            "2026-11-20",
            "AdverseEvent",
            "peer-support-bridge/incident-report",
            "reporter",
            "PART",
            "fatal",
        ]
    )
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["coding", "code", "reference", "type", "value", "start", "x"]),
            children,
            max_size=3,
        )
    ),
    max_leaves=6,
)


def mutate(document: dict[str, Any], data: st.DataObject, model: type[BaseModel]) -> Any:
    document = copy.deepcopy(document)
    candidates = paths(document) + [(name,) for name in model.model_fields]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(candidates))
        parent: Any = document
        for step in path[:-1]:
            try:
                parent = parent[step]
            except (KeyError, IndexError, TypeError):
                break
        else:
            if data.draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif isinstance(parent, dict) or (
                isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent)
            ):
                parent[path[-1]] = data.draw(json_values)
    return document


def outcome(validate: Any, document: Any) -> Any:
    try:
        return ("ok", validate(document))
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        return ("error", [(error["type"], error["loc"]) for error in errors])


def model_outcome(model: type[BaseModel], document: Any) -> Any:
    return outcome(lambda doc: model.model_validate(doc).model_dump(), document)


def reader_outcome(model: type[BaseModel], document: Any) -> Any:
    result = outcome(READERS[model], document)
    if result[0] == "error":  # typed dicts say dict_type where models say model_type
        return (
            "error",
            [(kind.replace("dict_type", "model_type"), loc) for kind, loc in result[1]],
        )
    return result


@pytest.mark.parametrize(
    ("model", "document"), CASES, ids=lambda case: getattr(case, "__name__", "")
)
def test_real_documents_read_alike(model: type[BaseModel], document: dict[str, Any]) -> None:
    assert reader_outcome(model, document) == model_outcome(model, document)
    assert reader_outcome(model, document)[0] == "ok"


@pytest.mark.parametrize("index", range(len(CASES)), ids=[m.__name__ for m, _ in CASES])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_documents_read_alike(index: int, data: st.DataObject) -> None:
    model, base = CASES[index]
    document = mutate(base, data, model)
    assert reader_outcome(model, document) == model_outcome(model, document)


def test_every_fixture_reads_alike() -> None:
    for path in sorted((FIXTURES / "fhir").glob("*.json")):
        document = json.loads(path.read_text())
        model = AdverseEventR5 if isinstance(document.get("identifier"), list) else AdverseEventR4
        assert reader_outcome(model, document) == model_outcome(model, document), path.name


def test_models_that_need_their_instance_are_refused() -> None:
    class Checked(BaseModel):
        code: str

        @model_validator(mode="after")
        def _check(self) -> Checked:
            return self

    with pytest.raises(TypeError):
        dict_reader(Checked)
