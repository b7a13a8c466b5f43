"""The policy's triggers and roles decide who in a report is offered support."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from schemas import StaffRole
from schemas.boundary import Vocabulary, minimize
from schemas.policy import Policy, parse_policy
from streams.policy.decide import Decision, Suppressed, decide
from tests.unit.helpers import EVERYONE, KEY, RECEIVED_AT, native_report, staff

BASE = """\
version: test-1
owner: Kvalitetsavdelingen
schemes:
  - {id: all, name: {nb: Alle}, default: true, owner: x, contact: y}
timing: {delay: 0s, quiet_hours: null}
"""


def policy(extra: str = "") -> Policy:
    return parse_policy(BASE + extra)


def judged(report: dict[str, Any], under: Policy) -> Decision:
    """As the worker judges it: the report minimized with the policy's own codes."""
    vocabulary = Vocabulary.of(under, sources={"avvik-test"}, directory_units={"MED-3", "PSY-1"})
    return decide(minimize(report, KEY, vocabulary), under, RECEIVED_AT, KEY, EVERYONE)


def offered(report: dict[str, Any], extra: str = "") -> list[str]:
    return [offer.person for offer in judged(report, policy(extra)).offers]


def reasons(report: dict[str, Any], extra: str = "") -> set[Suppressed]:
    return {reason for _, reason in judged(report, policy(extra)).suppressed}


EMP_1, EMP_2, EMP_3 = staff("emp-1"), staff("emp-2"), staff("emp-3")


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
    assert offered(report) == [EMP_1, EMP_2]  # offered without the trigger
    assert offered(report, extra) == []
    assert reasons(report, extra) == {reason}


def test_severity_at_the_minimum_is_offered() -> None:
    extra = "triggers: {minimum_severity: moderate}\n"
    assert offered(native_report(severity="moderate"), extra) == [EMP_1, EMP_2]
    assert offered(native_report(severity="death"), extra) == [EMP_1, EMP_2]


def test_roles_switch_people_on_and_off() -> None:
    report = native_report()
    roles = "roles: {reporter: false, involved: true, witness: true}\n"
    assert offered(report, roles) == [EMP_2, EMP_3]
    decision = judged(report, policy("roles: {reporter: false}\n"))
    assert (StaffRole.REPORTER, Suppressed.ROLE) in decision.suppressed


def test_every_offer_carries_the_policy_version() -> None:
    decision = judged(native_report(), policy())
    assert {offer.policy_version for offer in decision.offers} == {"test-1"}


def test_delay_counts_from_the_report() -> None:
    signal = minimize(native_report(reported_at="2026-11-23T12:00:00+00:00"), KEY)
    later = parse_policy(BASE.replace("delay: 0s", "delay: 90m"))
    (first, _) = decide(signal, later, RECEIVED_AT, KEY, EVERYONE).offers
    assert first.due_at - signal.reported_at == timedelta(minutes=90)
