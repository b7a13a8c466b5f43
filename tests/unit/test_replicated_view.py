"""The replicated view's tombstone handling, which forgetting a person hangs on."""

from __future__ import annotations

from runtime.settings import KafkaSettings
from schemas import Profession, StaffProfile
from streams.views import ReplicatedView


def profile(ref: str) -> bytes:
    entry = StaffProfile(staff_ref=ref, profession=Profession.NURSE, unit_code="MED-3")
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
    view: ReplicatedView[StaffProfile] = ReplicatedView("dir", StaffProfile, KafkaSettings())
    view.apply(b"emp-1", profile("emp-1"))
    assert view.get("emp-1") is not None  # parsed, and kept parsed for the next lookup
    view.apply(b"emp-1", None)
    assert view._parse.cache_info().currsize == 0
