"""The policy's triggers and roles decide who in a report is offered support."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from schemas import StaffRole
from schemas.boundary import minimize
from schemas.policy import Policy, parse_policy
from streams.policy.decide import Suppressed, decide
from tests.unit.helpers import KEY, RECEIVED_AT, native_report

BASE = """\
version: test-1
owner: Kvalitetsavdelingen
schemes:
  - {id: all, name: {nb: Alle}, default: true, owner: x, contact: y}
timing: {delay: 0s, quiet_hours: null}
"""


def policy(extra: str = "") -> Policy:
    return parse_policy(BASE + extra)


def offered(report: dict[str, Any], extra: str = "") -> list[str]:
    decision = decide(minimize(report, KEY), policy(extra), RECEIVED_AT)
    return [offer.staff_ref for offer in decision.offers]


def reasons(report: dict[str, Any], extra: str = "") -> set[Suppressed]:
    decision = decide(minimize(report, KEY), policy(extra), RECEIVED_AT)
    return {reason for _, reason in decision.suppressed}


@pytest.mark.parametrize(
    ("changes", "extra", "reason"),
    [
        (
            {"severity": "mild"},
            "triggers: {minimum_severity: moderate}\n",
            Suppressed.BELOW_MINIMUM_SEVERITY,
        ),
        ({"severity": None}, "triggers: {unknown_severity: false}\n", Suppressed.UNKNOWN_SEVERITY),
        ({"actuality": "potential"}, "triggers: {near_misses: false}\n", Suppressed.NEAR_MISS),
        (
            {"category_codes": ["falls"]},
            "triggers: {categories: {include: [medication]}}\n",
            Suppressed.CATEGORY,
        ),
        (
            {"category_codes": ["medication", "falls"]},
            "triggers: {categories: {exclude: [falls]}}\n",
            Suppressed.CATEGORY,
        ),
        ({"unit_code": "PSY-1"}, "triggers: {units: {exclude: [PSY-1]}}\n", Suppressed.UNIT),
        ({"unit_code": None}, "triggers: {units: {include: [MED-3]}}\n", Suppressed.UNIT),
        (
            {"reported_at": "2026-11-15T10:00:00+01:00"},
            "triggers: {max_report_age: 7d}\n",
            Suppressed.TOO_OLD,
        ),
    ],
)
def test_triggers_suppress_the_whole_report(
    changes: dict[str, Any], extra: str, reason: Suppressed
) -> None:
    report = native_report(**changes)
    assert offered(report) == ["emp-1", "emp-2"]  # offered without the trigger
    assert offered(report, extra) == []
    assert reasons(report, extra) == {reason}


def test_severity_at_the_minimum_is_offered() -> None:
    extra = "triggers: {minimum_severity: moderate}\n"
    assert offered(native_report(severity="moderate"), extra) == ["emp-1", "emp-2"]
    assert offered(native_report(severity="death"), extra) == ["emp-1", "emp-2"]


def test_roles_switch_people_on_and_off() -> None:
    report = native_report()
    assert offered(report, "roles: {reporter: false, involved: true, witness: true}\n") == [
        "emp-2",
        "emp-3",
    ]
    decision = decide(minimize(report, KEY), policy("roles: {reporter: false}\n"), RECEIVED_AT)
    assert (StaffRole.REPORTER, Suppressed.ROLE) in decision.suppressed


def test_every_offer_carries_the_policy_version() -> None:
    decision = decide(minimize(native_report(), KEY), policy(), RECEIVED_AT)
    assert {offer.policy_version for offer in decision.offers} == {"test-1"}


def test_delay_counts_from_the_report() -> None:
    signal = minimize(native_report(reported_at="2026-11-23T12:00:00+00:00"), KEY)
    later = parse_policy(BASE.replace("delay: 0s", "delay: 90m"))
    (first, _) = decide(signal, later, RECEIVED_AT).offers
    assert first.due_at - signal.reported_at == timedelta(minutes=90)
