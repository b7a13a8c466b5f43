"""The codes that may cross the boundary: known values, not values of the right shape.

A category passes when it is a code of the standard FHIR AdverseEvent category value sets
(R4 and R5) or one the quality department declares in the policy; a unit when the policy
declares it or someone in the staff directory belongs to it; a source system when the
installation names it in its settings. Anything else is dropped and counted, never copied.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from schemas.policy import Policy

FHIR_R4_CATEGORIES: Final = frozenset(
    {
        "product-problem",
        "product-quality",
        "product-use-error",
        "wrong-dose",
        "incorrect-prescribing-information",
        "wrong-technique",
        "wrong-route-of-administration",
        "wrong-rate",
        "wrong-duration",
        "wrong-time",
        "expired-drug",
        "medical-device-use-error",
        "problem-different-manufacturer",
        "unsafe-physical-environment",
    }
)
"""http://hl7.org/fhir/R4/valueset-adverse-event-category.html (R4 and R4B)."""

FHIR_R5_CATEGORIES: Final = frozenset(
    {
        "wrong-patient",
        "procedure-mishap",
        "medication-mishap",
        "device",
        "unsafe-physical-environment",
        "hospital-aquired-infection",  # sic: the code system's spelling
        "wrong-body-site",
    }
)
"""http://hl7.org/fhir/R5/valueset-adverse-event-category.html."""

STANDARD_CATEGORIES: Final = FHIR_R4_CATEGORIES | FHIR_R5_CATEGORIES


class AnyOf:
    """A value is in it when it is in any of the containers (read at every lookup, so a
    container that changes, such as the directory's units, is seen as it is now)."""

    __slots__ = ("_parts",)

    def __init__(self, *parts: Container[str]) -> None:
        self._parts = parts

    def __contains__(self, value: object) -> bool:
        return any(value in part for part in self._parts)


@dataclass(frozen=True)
class Vocabulary:
    """What the boundary may copy as a code. The default knows the standard categories only:
    no unit and no source system passes until the installation names them."""

    categories: Container[str] = STANDARD_CATEGORIES
    units: Container[str] = field(default_factory=frozenset)
    sources: Container[str] = field(default_factory=frozenset)

    @classmethod
    def of(
        cls,
        policy: Policy | None = None,
        *,
        sources: Iterable[str] = (),
        directory_units: Container[str] = frozenset(),
    ) -> Vocabulary:
        """The vocabulary of an installation: the policy's declared codes, its configured
        source systems and the units of its staff directory."""
        categories: frozenset[str] = frozenset()
        units: frozenset[str] = frozenset()
        if policy is not None:
            categories = policy.declared_categories()
            units = policy.declared_units()
        return cls(
            categories=STANDARD_CATEGORIES | categories,
            units=AnyOf(units, directory_units),
            sources=frozenset(sources),
        )
