"""Real-shaped reports for fault tests, and the offer ids they must produce.

The tests know the pseudonym key the worker uses, so they can compute every offer id a
report must lead to and check for each one: delivered, and only once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from schemas.boundary import pseudonymize
from streams.policy.decide import offer_id_for
from tools.worker import TEST_KEY as KEY
from tools.worker import pseudonym

SOURCE = "fault-test"


def staff_of(number: int, people: int) -> tuple[str, str]:
    return f"emp-{number % people}", f"emp-{(number * 7 + 3) % people}"


def native_report(number: int, run: str, people: int) -> bytes:
    reporter, involved = staff_of(number, people)
    return json.dumps(
        {
            "format": "peer-support-bridge/incident-report",
            "version": 1,
            "report_id": f"{run}-{number}",
            "source_system": SOURCE,
            "reported_at": datetime.now(UTC).isoformat(),
            "description": f"Ola Testpasient {run} {number}",
            "staff": [
                {"staff_ref": reporter, "role": "reporter"},
                {"staff_ref": involved, "role": "involved"},
            ],
        }
    ).encode()


def expected_offers(count: int, run: str, people: int) -> dict[str, str]:
    """offer id → staff reference, for reports 0..count-1 of ``run``."""
    expected: dict[str, str] = {}
    for number in range(count):
        incident = pseudonymize(KEY, SOURCE, f"{run}-{number}")
        for ref in dict.fromkeys(staff_of(number, people)):
            expected[offer_id_for(KEY, incident, pseudonym(ref))] = ref
    return expected
