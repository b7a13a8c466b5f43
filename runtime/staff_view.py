"""The staff directory as every process holds it: profiles by staff pseudonym, and the
units people belong to (a unit code crosses the boundary only if someone is in it, or the
policy declares it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Container
from functools import partial

from runtime.replicated_view import ReplicatedView
from runtime.settings import KafkaSettings
from schemas import StaffProfile
from schemas.boundary import PseudonymKey, pseudonymize_staff


class StaffView(ReplicatedView[StaffProfile]):
    def __init__(self, topic: str, kafka: KafkaSettings, key: PseudonymKey) -> None:
        super().__init__(topic, StaffProfile, kafka, index=partial(pseudonymize_staff, key))
        self._people_in_unit: Counter[str] = Counter()

    @property
    def units(self) -> Container[str]:
        """The units someone in the directory belongs to now."""
        return self._people_in_unit.keys()

    def _changed(self, old: bytes | None, new: StaffProfile | None) -> None:
        if old is not None:
            unit = StaffProfile.model_validate_json(old).unit_code  # not cached: it is gone
            self._people_in_unit[unit] -= 1
            if self._people_in_unit[unit] <= 0:
                del self._people_in_unit[unit]
        if new is not None:
            self._people_in_unit[new.unit_code] += 1
