"""Real-shaped identifiers to plant in reports, and the reports to plant them in.

Each value identifies a made-up person the way a careless integrator's data would: valid
Norwegian national identity numbers (fødselsnummer, D- and H-numbers, passing both mod-11
checks), e-mail addresses, phone numbers (Norwegian and foreign, in several spellings),
names joined with ``_``, ``.`` or ``:`` so they look like codes, and free text. Every value
holds something unique, so a test can tell it anywhere it comes out (see :func:`traces`).

:func:`planted_reports` puts them into every field the boundary reads, for native, FHIR R4
and FHIR R5 reports, keeping the rest of a real-shaped report around them.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any, Final

from hypothesis import strategies as st

from tests.unit.helpers import native_report

FIXTURES: Final = Path(__file__).resolve().parents[1] / "fixtures"
Draw = Callable[[Any], Any]

_W1: Final = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2: Final = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
MOBILE_PREFIXES: Final = ("40", "41", "45", "46", "47", "48", *(f"9{n}" for n in range(10)))
"""Norwegian mobile number ranges (Nkom's numbering plan)."""
FIRST_NAMES: Final = ("Kari", "Ola", "Ingrid", "Per", "Aasa", "Bjørn", "Sigrid", "Nils")
LAST_NAMES: Final = ("Nordmann", "Hansen", "Berg", "Haugen", "Dahl", "Lie", "Strand")


def _check(digits: str, weights: tuple[int, ...]) -> int | None:
    check = (11 - sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11) % 11
    return None if check == 10 else check


def national_identity_number(rng: Random) -> str:
    """A fødselsnummer, D-number (day + 40) or H-number (month + 40) with valid checks."""
    kind = rng.choice(("fnr", "d", "h"))
    day = rng.randint(1, 28) + (40 if kind == "d" else 0)
    month = rng.randint(1, 12) + (40 if kind == "h" else 0)
    year, start = rng.randint(0, 99), rng.randint(0, 999)
    for step in range(1000):  # about one in three individual numbers has no valid check
        nine = f"{day:02d}{month:02d}{year:02d}{(start + step) % 1000:03d}"
        first = _check(nine, _W1)
        second = None if first is None else _check(f"{nine}{first}", _W2)
        if second is not None:
            return f"{nine}{first}{second}"
    raise AssertionError("no valid number for this date")  # pragma: no cover


def _tag(rng: Random) -> str:
    """What makes a name, an address or a text unique: ``mrk`` and eight letters."""
    return "mrk" + "".join(rng.choice(string.ascii_lowercase) for _ in range(8))


def email(rng: Random) -> str:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    domain = rng.choice(("sykehus.no", "helse-vest.no", "kommune.no"))
    return f"{first}.{last}.{_tag(rng)}@{domain}".lower()


def phone_number(rng: Random) -> str:
    subscriber = rng.randint(0, 999_999)
    mobile = f"{rng.choice(MOBILE_PREFIXES)}{subscriber:06d}"
    return rng.choice(
        (
            mobile,
            f"+47{mobile}",
            f"+47 {mobile[:3]} {mobile[3:5]} {mobile[5:]}",
            f"0047{mobile}",
            f"{mobile[:3]}-{mobile[3:5]}-{mobile[5:]}",
            f"+4670{subscriber:07d}",  # a Swedish mobile
        )
    )


def joined_name(rng: Random) -> str:
    first, last, tag = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), _tag(rng).capitalize()
    joiner = rng.choice("_.:")
    return rng.choice((f"{first}{joiner}{last}{tag}", f"{last}{tag}{joiner}{first}"))


def free_text(rng: Random) -> str:
    return " ".join(["Pasienten", _tag(rng), "fikk", "feil", "dose", "på", "rom", "12"])


KINDS: Final[dict[str, Callable[[Random], str]]] = {
    "national-identity-number": national_identity_number,
    "email": email,
    "phone-number": phone_number,
    "joined-name": joined_name,
    "free-text": free_text,
}


def _drawn(make: Callable[[Random], str]) -> st.SearchStrategy[str]:
    return st.randoms(use_true_random=False).map(make)


def national_identity_numbers() -> st.SearchStrategy[str]:
    return _drawn(national_identity_number)


def emails() -> st.SearchStrategy[str]:
    return _drawn(email)


def phone_numbers() -> st.SearchStrategy[str]:
    return _drawn(phone_number)


def joined_names() -> st.SearchStrategy[str]:
    return _drawn(joined_name)


def identifiers() -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(KINDS)).flatmap(lambda kind: _drawn(KINDS[kind]))


def traces(value: str) -> list[str]:
    """What of ``value`` must appear nowhere: the value, and its digits or letters alone
    (a leak may drop the separators)."""
    found = [value]
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 8:
        found.append(digits)
    found += re.findall(r"mrk[a-z]{8}", value.lower())
    return found


@dataclass
class Planted:
    """A report and every value planted in it."""

    document: dict[str, Any]
    values: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)

    def traces(self) -> list[str]:
        return [trace for value in self.values for trace in traces(value)]

    def leaks(self, output: str) -> list[str]:
        lowered = output.lower()
        return [trace for trace in self.traces() if trace.lower() in lowered]


Setter = Callable[[dict[str, Any], str], None]


def _at(*path: str | int) -> Setter:
    """Sets the value at ``path``, making the objects and list entries on the way."""

    def put(document: dict[str, Any], value: Any) -> None:
        node: Any = document
        for step, after in itertools.pairwise(path):
            empty: Any = [] if isinstance(after, int) else {}
            if isinstance(step, int):
                while len(node) <= step:
                    node.append(empty)
            elif step not in node:
                node[step] = empty
            node = node[step]
        last = path[-1]
        if isinstance(last, int):
            while len(node) <= last:
                node.append(None)
        node[last] = value

    return put


def _reference(kind: str, *path: str | int) -> Setter:
    def put(document: dict[str, Any], value: str) -> None:
        _at(*path)(document, f"{kind}/{value}")

    return put


def _logical(*path: str | int) -> Setter:
    def put(document: dict[str, Any], value: str) -> None:
        _at(*path)(document, {"type": "Practitioner", "identifier": {"value": value}})

    return put


NATIVE_FIELDS: Final[dict[str, Setter]] = {
    "report_id": _at("report_id"),
    "source_system": _at("source_system"),
    "unit_code": _at("unit_code"),
    "category_codes": _at("category_codes", 0),
    "severity": _at("severity"),
    "seriousness": _at("seriousness"),
    "actuality": _at("actuality"),
    "staff_ref": _at("staff", 0, "staff_ref"),
    "another_staff_ref": _at("staff", 1, "staff_ref"),
    "role": _at("staff", 2, "role"),
    "occurred_at": _at("occurred_at"),
    "title": _at("title"),
    "patient": _at("patient"),
}

_FHIR_COMMON: Final[dict[str, Setter]] = {
    "id": _at("id"),
    "actuality": _at("actuality"),
    "category.code": _at("category", 0, "coding", 0, "code"),
    "category.system": _at("category", 0, "coding", 0, "system"),
    "location": _reference("Location", "location", "reference"),
    "location.whole": _at("location", "reference"),
    "seriousness.code": _at("seriousness", "coding", 0, "code"),
    "recordedDate": _at("recordedDate"),
    "recorder": _reference("Practitioner", "recorder", "reference"),
    "recorder.logical": _logical("recorder"),
    "subject": _reference("Patient", "subject", "reference"),
}

R4_FIELDS: Final[dict[str, Setter]] = {
    **_FHIR_COMMON,
    "identifier.value": _at("identifier", "value"),
    "identifier.system": _at("identifier", "system"),
    "severity.code": _at("severity", "coding", 0, "code"),
    "outcome.code": _at("outcome", "coding", 0, "code"),
    "date": _at("date"),
    "contributor": _reference("Practitioner", "contributor", 0, "reference"),
    "contributor.logical": _logical("contributor", 1),
}

R5_FIELDS: Final[dict[str, Setter]] = {
    **_FHIR_COMMON,
    "identifier.value": _at("identifier", 0, "value"),
    "identifier.system": _at("identifier", 0, "system"),
    "outcome.code": _at("outcome", 0, "coding", 0, "code"),
    "occurrenceDateTime": _at("occurrenceDateTime"),
    "participant": _reference("Practitioner", "participant", 0, "actor", "reference"),
    "participant.logical": _logical("participant", 1, "actor"),
    "participant.function": _at("participant", 2, "function", "coding", 0, "code"),
}


def _native() -> dict[str, Any]:
    return native_report(seriousness="serious", actuality="actual")


def _fhir(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / "fhir" / name).read_text())
    document.setdefault("seriousness", {"coding": [{"code": "serious"}]})
    document.setdefault("subject", {"reference": "Patient/p-1"})
    return document


FORMATS: Final[dict[str, tuple[Callable[[], dict[str, Any]], dict[str, Setter]]]] = {
    "native": (_native, NATIVE_FIELDS),
    "fhir-r4": (lambda: _fhir("r4-contributors.json"), R4_FIELDS),
    "fhir-r5": (lambda: _fhir("r5-participants.json"), R5_FIELDS),
}


def every_field_and_kind(fmt: str, rng: Random) -> list[Planted]:
    """One report of ``fmt`` for each field the boundary reads and each kind of identifier."""
    make, fields = FORMATS[fmt]
    reports = []
    for name, kind in itertools.product(sorted(fields), sorted(KINDS)):
        planted = Planted(copy.deepcopy(make()))
        value = KINDS[kind](rng)
        fields[name](planted.document, value)
        planted.values.append(value)
        reports.append(planted)
    return reports


def every_field_at_once(fmt: str, rng: Random, fields: Iterable[str]) -> Planted:
    """One report of ``fmt`` with an identifier in each of ``fields``, kinds in turn."""
    make, setters = FORMATS[fmt]
    planted = Planted(copy.deepcopy(make()))
    kinds = itertools.cycle(sorted(KINDS))
    for name in fields:
        value = KINDS[next(kinds)](rng)
        setters[name](planted.document, value)
        planted.values.append(value)
    return planted


@st.composite
def planted_reports(draw: Draw, fmt: str) -> Planted:
    """A real-shaped report of ``fmt`` with identifiers in some of the fields the boundary
    reads (at least one; every field is drawn in some example)."""
    make, fields = FORMATS[fmt]
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=4, unique=True))
    planted = Planted(copy.deepcopy(make()))
    for name in chosen:
        value = draw(identifiers())
        fields[name](planted.document, value)
        planted.values.append(value)
    return planted
