"""The replicated views: tombstones (which forgetting a person hangs on), and the staff
directory held by pseudonym, with the units people are in."""

from __future__ import annotations

from runtime.replicated_view import ReplicatedView
from runtime.settings import KafkaSettings
from runtime.staff_view import StaffView
from schemas import Profession, StaffProfile
from schemas.boundary import pseudonymize_staff
from tests.unit.helpers import KEY


def profile(ref: str, unit: str = "MED-3") -> bytes:
    entry = StaffProfile(staff_ref=ref, profession=Profession.NURSE, unit_code=unit)
    return entry.model_dump_json().encode()


def test_every_tombstone_is_reported_even_for_a_key_compacted_away() -> None:
    view: ReplicatedView[StaffProfile] = ReplicatedView("dir", StaffProfile, KafkaSettings())
    removed: list[str] = []
    view.on_remove(removed.append)
    view.apply(b"emp-1", profile("emp-1"))
    view.apply(b"emp-1", None)
    view.apply(b"emp-2", None)  # its entry was compacted away while the worker was down
    assert removed == ["emp-1", "emp-2"]
    assert "emp-1" not in view and len(view) == 0


def test_an_entry_under_another_key_is_refused() -> None:
    view: ReplicatedView[StaffProfile] = ReplicatedView("dir", StaffProfile, KafkaSettings())
    view.apply(b"emp-1", profile("emp-2"))
    assert len(view) == 0 and view.invalid_records == 1


def test_a_leaver_leaves_no_parsed_entry_behind() -> None:
    view = StaffView("dir", KafkaSettings(), KEY)
    view.apply(b"emp-1", profile("emp-1"))
    assert view.get(pseudonymize_staff(KEY, "emp-1")) is not None  # parsed and kept parsed
    view.apply(b"emp-1", None)
    assert view._parse.cache_info().currsize == 0


def test_the_directory_is_held_by_pseudonym_never_by_reference() -> None:
    view = StaffView("dir", KafkaSettings(), KEY)
    removed: list[str] = []
    view.on_remove(removed.append)
    view.apply(b"emp-1", profile("emp-1"))
    pseudonym = pseudonymize_staff(KEY, "emp-1")
    assert "emp-1" not in view and pseudonym in view
    entry = view.get(pseudonym)
    assert entry is not None and entry.staff_ref == "emp-1"  # resolved only on lookup
    view.apply(b"emp-1", None)
    assert removed == [pseudonym]


def test_a_unit_is_known_while_someone_is_in_it() -> None:
    view = StaffView("dir", KafkaSettings(), KEY)
    view.apply(b"emp-1", profile("emp-1", "MED-3"))
    view.apply(b"emp-2", profile("emp-2", "MED-3"))
    view.apply(b"emp-3", profile("emp-3", "KIR-1"))
    assert {"MED-3", "KIR-1"} <= set(view.units)
    view.apply(b"emp-3", profile("emp-3", "MED-3"))  # moved: KIR-1 is empty now
    assert "KIR-1" not in view.units and "MED-3" in view.units
    view.apply(b"emp-1", None)
    view.apply(b"emp-2", None)
    assert "MED-3" in view.units  # emp-3 is still there
    view.apply(b"emp-3", None)
    assert "MED-3" not in view.units
