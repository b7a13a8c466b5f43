"""Small helpers for unit tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from schemas.boundary import PseudonymKey, Vocabulary, pseudonymize_staff
from schemas.policy import Policy, default_policy

KEY = PseudonymKey(b"unit-test-pseudonym-key-0123456789abcdef")
VOCABULARY = Vocabulary.of(
    sources={"avvik-test", "fhir"}, directory_units={"MED-3", "PSY-1", "KIR-1", "ward-7", "icu-1"}
)
"""What an installation of the tests knows: its source systems and units."""


class Everyone:
    """Every person is in the directory."""

    def __contains__(self, _: object) -> bool:
        return True


EVERYONE = Everyone()


def staff(ref: str) -> str:
    """The pseudonym of a staff reference under the tests' key."""
    return pseudonymize_staff(KEY, ref)


RECEIVED_AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / "fhir" / name).read_text())
    return document


def native_report(**overrides: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "format": "peer-support-bridge/incident-report",
        "version": 1,
        "report_id": "AV-1",
        "source_system": "avvik-test",
        "reported_at": "2026-11-20T14:03:00+01:00",
        "unit_code": "MED-3",
        "category_codes": ["medication-mishap"],
        "severity": "moderate",
        "staff": [
            {"staff_ref": "emp-1", "role": "reporter"},
            {"staff_ref": "emp-2", "role": "involved"},
            {"staff_ref": "emp-3", "role": "witness"},
        ],
    }
    report.update(overrides)
    return report


def lenient_policy() -> Policy:
    """The default policy, accepting reports of any age (fixtures are dated)."""
    policy = default_policy()
    triggers = policy.triggers.model_copy(update={"max_report_age": timedelta(days=36500)})
    return policy.model_copy(update={"triggers": triggers})
