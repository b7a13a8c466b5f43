"""Constrained string types and code lists shared by every contract.

A string crosses the privacy boundary only as one of these types. A pattern is a second
line of defence, not the first: a national identity number or a name joined with ``_`` fits
any code pattern, so the boundary copies a code only when it is in a known value set (see
:mod:`schemas.boundary.vocabulary`), and people only as keyed pseudonyms.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Final, TypeVar

from pydantic import StringConstraints

CODE_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,63}$"
IDENTIFIER_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$"
PSEUDONYM_PATTERN: Final = r"^inc_[0-9a-f]{32}$"
STAFF_PSEUDONYM_PATTERN: Final = r"^stf_[0-9a-f]{32}$"
OPAQUE_ID_PATTERN: Final = r"^[a-z]{2,4}_[0-9a-f]{32}$"

CODE_RE: Final = re.compile(CODE_PATTERN)
IDENTIFIER_RE: Final = re.compile(IDENTIFIER_PATTERN)

Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
"""A coded value (unit, category, source system): one token, at most 64 characters."""

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
"""An identifier needed for addressing (staff reference): one token, at most 128 characters."""

Pseudonym = Annotated[str, StringConstraints(pattern=PSEUDONYM_PATTERN)]
"""Keyed pseudonym of an incident; see :mod:`schemas.boundary.pseudonym`."""

StaffPseudonym = Annotated[str, StringConstraints(pattern=STAFF_PSEUDONYM_PATTERN)]
"""Keyed pseudonym of a staff member: all that crosses the boundary of who took part."""

OpaqueId = Annotated[str, StringConstraints(pattern=OPAQUE_ID_PATTERN)]
"""Keyed id derived from pseudonyms (offers, notifications): it cannot be recomputed
from a guessed staff reference without the installation's key."""


ConfigText = Annotated[
    str, StringConstraints(min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f]+$")
]
"""Text written by the quality department in the policy (scheme names, contact routes).
Never text from a report."""


def is_code(value: object) -> bool:
    """The value would pass as a ``Code`` in the contract.

    ``fullmatch``, not ``match``: in Python's ``re`` a ``$`` also matches before a trailing
    newline, which the contract's (Rust) pattern refuses.
    """
    return isinstance(value, str) and CODE_RE.fullmatch(value) is not None


def is_identifier(value: object) -> bool:
    """The value would pass as an ``Identifier`` in the contract (``fullmatch``, as above)."""
    return isinstance(value, str) and IDENTIFIER_RE.fullmatch(value) is not None


class StaffRole(StrEnum):
    """How a staff member took part in the incident."""

    REPORTER = "reporter"
    INVOLVED = "involved"
    WITNESS = "witness"


ROLE_PRECEDENCE: Final = (StaffRole.INVOLVED, StaffRole.REPORTER, StaffRole.WITNESS)
"""When one person appears in several roles, the first of these wins: being involved is
the strongest reason to be offered support."""


class Severity(StrEnum):
    """Harm to the patient, on one ordinal scale for every source format."""

    NONE = "none"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    DEATH = "death"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER: Final = (
    Severity.NONE,
    Severity.MILD,
    Severity.MODERATE,
    Severity.SEVERE,
    Severity.DEATH,
)


EnumT = TypeVar("EnumT", bound=StrEnum)


def code_lookup(enum: type[EnumT]) -> Callable[[object], EnumT | None]:
    """``lookup(value)`` is the member whose value it is, or None: never an error."""
    members: dict[object, EnumT] = {member.value: member for member in enum}
    return members.get


class Seriousness(StrEnum):
    SERIOUS = "serious"
    NON_SERIOUS = "non-serious"


class Actuality(StrEnum):
    """Whether harm happened or was a near miss."""

    ACTUAL = "actual"
    POTENTIAL = "potential"


class SourceFormat(StrEnum):
    NATIVE = "native"
    FHIR_R4 = "fhir-r4"
    FHIR_R5 = "fhir-r5"


class Channel(StrEnum):
    """A notification channel; each has its own topic ``notifications.<channel>``."""

    EMAIL = "email"
    SMS = "sms"
    TEAMS = "teams"
    SLACK = "slack"
    WEBHOOK = "webhook"
    OUTBOX = "outbox"


class Language(StrEnum):
    """Languages offers are written in (BCP 47 tags)."""

    NB = "nb"
    NN = "nn"
    EN = "en"


class Profession(StrEnum):
    """Documented code list of professions; each maps to a peer-support scheme by policy."""

    PHYSICIAN = "physician"
    PSYCHOLOGIST = "psychologist"
    DENTIST = "dentist"
    NURSE = "nurse"
    MIDWIFE = "midwife"
    SOCIAL_EDUCATOR = "social-educator"
    HEALTH_CARE_WORKER = "health-care-worker"
    PARAMEDIC = "paramedic"
    PHARMACIST = "pharmacist"
    PHYSIOTHERAPIST = "physiotherapist"
    RADIOGRAPHER = "radiographer"
    BIOMEDICAL_LAB_SCIENTIST = "biomedical-lab-scientist"
    OTHER = "other"
