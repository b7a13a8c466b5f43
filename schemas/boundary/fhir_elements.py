"""Narrow readers for the FHIR datatypes the boundary needs, and what it takes from them.

Only allow-listed elements are declared; everything else in a resource is ignored by
construction and never held. The element names and cardinalities follow the FHIR R4 and
R5 specifications (checked against ``fhir.resources`` in the test suite), but parsing is
limited to these paths so the boundary stays fast enough to sit on a hot stream.
Resources are read into plain dicts of these shapes by
:func:`~schemas.boundary.readers.dict_reader`; the functions below take those dicts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Final

from pydantic import Field

from schemas.base import Incoming
from schemas.boundary.readers import Element
from schemas.codes import EnumT, Identifier, Seriousness, Severity, is_code, is_identifier

MAX_CODINGS: Final = 32

STAFF_RESOURCE_TYPES: Final = frozenset({"Practitioner", "PractitionerRole"})

_LITERAL_REFERENCE: Final = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://[^\s]*/)?"  # optional absolute base URL
    r"(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/[A-Za-z0-9\-.]{1,64})?$"
)
_FHIR_DATETIME: Final = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$"
)


class Coding(Incoming):
    system: str | None = None
    code: str | None = None


class CodeableConcept(Incoming):
    coding: Annotated[tuple[Coding, ...], Field(max_length=MAX_CODINGS)] = ()


class FhirIdentifier(Incoming):
    system: str | None = None
    value: str | None = None


class Reference(Incoming):
    reference: str | None = None
    type: str | None = None
    identifier: FhirIdentifier | None = None


class Period(Incoming):
    start: str | None = None


def staff_ref_of(reference: Element | None) -> Identifier | None:
    """The staff reference a FHIR Reference points at, or None when it is not staff.

    Literal references become ``Practitioner/<id>`` or ``PractitionerRole/<id>``; logical
    references (by identifier) become the identifier's value. Contained references
    (``#id``), display-only references and every other resource type are not staff.
    """
    if reference is None:
        return None
    kind = reference["type"]
    if kind is not None and kind not in STAFF_RESOURCE_TYPES:
        return None
    literal = reference["reference"]
    if literal is not None:
        match = _LITERAL_REFERENCE.match(literal)
        if match is None or match["type"] not in STAFF_RESOURCE_TYPES:
            return None
        if kind is not None and kind != match["type"]:
            return None
        return f"{match['type']}/{match['id']}"
    identifier = reference["identifier"]
    if kind is not None and identifier is not None and is_identifier(identifier["value"]):
        value: str = identifier["value"]
        return value
    return None


def local_id_of(reference: Element | None, resource_type: str) -> str | None:
    """A code-shaped id of a referenced resource of ``resource_type`` (e.g. a Location)."""
    if reference is None or reference["reference"] is None:
        return None
    match = _LITERAL_REFERENCE.match(reference["reference"])
    if match is None or match["type"] != resource_type or not is_code(match["id"]):
        return None
    return match["id"]


def instant_of(value: str | None) -> datetime | None:
    """A FHIR dateTime with a time zone, or None for partial dates and anything else."""
    if value is None or _FHIR_DATETIME.match(value) is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


_SEVERITY_CODES: Final = {
    "mild": Severity.MILD,
    "moderate": Severity.MODERATE,
    "severe": Severity.SEVERE,
}
_DEATH_CODES: Final = frozenset({"fatal", "419099009"})  # R4 outcome; SNOMED CT "Dead"
_SERIOUSNESS_CODES: Final = {
    "serious": Seriousness.SERIOUS,
    "non-serious": Seriousness.NON_SERIOUS,
}


def all_codes(concepts: Iterable[Element]) -> list[str | None]:
    """Every ``code`` of the concepts as it is, for :func:`build_signal` to check (it keeps
    only valid codes, in order, without repeats)."""
    return [coding["code"] for concept in concepts for coding in concept["coding"]]


def lookup_code(concept: Element | None, table: Mapping[str, EnumT]) -> EnumT | None:
    """The member for the first valid code in the concept that ``table`` knows, in any
    case. ``display`` and ``text`` are never read: they are free text."""
    if concept is None:
        return None
    for coding in concept["coding"]:
        code = coding["code"]
        if code is not None:
            member = table.get(code.lower())
            if member is not None and is_code(code):
                return member
    return None


def severity_of(severity: Element | None, outcomes: Iterable[Element]) -> Severity | None:
    """The harm grade: a fatal outcome outranks any stated severity."""
    for outcome in outcomes:
        for coding in outcome["coding"]:
            if coding["code"] in _DEATH_CODES:  # both are valid codes: no check needed
                return Severity.DEATH
    return lookup_code(severity, _SEVERITY_CODES)


def seriousness_of(seriousness: Element | None) -> Seriousness | None:
    return lookup_code(seriousness, _SERIOUSNESS_CODES)
