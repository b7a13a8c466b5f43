"""``peer-support policy simulate``: what a policy would have sent for a file of past reports.

Nothing is sent and nothing is stored. Each report is judged as if it had just arrived (so
``max_report_age`` does not rule out a historical file). The result holds counts and codes
only (schemes, roles, channels, unit codes, reason codes): no person and no report content.
The boundary knows what the worker would know: the policy's codes and, with a directory,
its units and people; without one, everyone named counts as known.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from typing import Any

from schemas import Channel, StaffProfile
from schemas.boundary import BoundaryError, PseudonymKey, Vocabulary, project, pseudonymize_staff
from schemas.policy import Policy
from streams.agents.dispatch import Skip, notification_for
from streams.policy.decide import decide

MAX_LISTED_LINES = 100


@dataclass
class Simulation:
    reports: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    refused_lines: list[int] = field(default_factory=list)
    offers: int = 0
    repeated_offers: int = 0
    naming_no_one: int = 0
    by_role: Counter[str] = field(default_factory=Counter)
    by_unit: Counter[str] = field(default_factory=Counter)
    by_scheme: Counter[str] = field(default_factory=Counter)
    by_channel: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)
    not_notified: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reports": self.reports,
            "refused": dict(self.refused),
            "refused_lines": self.refused_lines[:MAX_LISTED_LINES],
            "offers": self.offers,
            "repeated_offers": self.repeated_offers,
            "reports_naming_no_one": self.naming_no_one,
            "offers_by_role": dict(self.by_role),
            "offers_by_unit": dict(self.by_unit),
            "notifications_by_scheme": dict(self.by_scheme),
            "notifications_by_channel": dict(self.by_channel),
            "suppressed": dict(self.suppressed),
            "not_notified": dict(self.not_notified),
            "dropped": dict(self.dropped),
        }


class _Everyone:
    def __contains__(self, _: object) -> bool:
        return True


def simulate(
    policy: Policy,
    report_lines: Iterable[bytes],
    directory: dict[str, StaffProfile] | None,
    channels: frozenset[Channel] = frozenset(Channel) - {Channel.OUTBOX},
) -> Simulation:
    """``directory`` holds profiles by staff reference, as the file names them."""
    key = PseudonymKey(secrets.token_bytes(32))  # only to tell repeated reports apart
    people = {pseudonymize_staff(key, ref): profile for ref, profile in (directory or {}).items()}
    units = {profile.unit_code for profile in people.values()}
    declared = Vocabulary.of(policy, directory_units=units)
    # what the source systems are called is not the policy's to judge: any passes here
    vocabulary = Vocabulary(declared.categories, declared.units, sources=_Everyone())
    known: Container[str] = people if directory is not None else _Everyone()
    result = Simulation()
    seen: set[str] = set()
    for number, line in enumerate(report_lines, start=1):
        if not line.strip():
            continue
        result.reports += 1
        try:
            projection = project(line, key, vocabulary)
        except BoundaryError as error:
            result.refused[error.reason.value] += 1
            result.refused_lines.append(number)
            continue
        for drop in projection.dropped:
            result.dropped[f"{drop.field.value}:{drop.reason.value}"] += 1
        signal = projection.signal
        if not signal.staff:
            result.naming_no_one += 1
        decision = decide(signal, policy, signal.reported_at, key, known)
        for role, reason in decision.suppressed:
            result.suppressed[f"{role.value}:{reason.value}"] += 1
        for offer in decision.offers:
            if offer.offer_id in seen:
                result.repeated_offers += 1
                continue
            seen.add(offer.offer_id)
            result.offers += 1
            result.by_role[offer.role.value] += 1
            result.by_unit[signal.unit_code or "(none)"] += 1
            if directory is None:
                continue
            outcome = notification_for(
                key, offer, people.get(offer.person), channels, offer.due_at, policy
            )
            if isinstance(outcome, Skip):
                result.not_notified[outcome.value] += 1
                continue
            result.by_channel[outcome.channel.value] += 1
            result.by_scheme[outcome.scheme.scheme_id if outcome.scheme else "(none)"] += 1
    return result


def render(result: Simulation, with_directory: bool) -> str:
    def block(title: str, counts: Counter[str]) -> list[str]:
        rows = [f"  {name:<40} {count:>7}" for name, count in counts.most_common()]
        return [title, *(rows or ["  (none)"])]

    lines = [
        f"reports read              {result.reports:>7}",
        f"  refused (not accepted)  {sum(result.refused.values()):>7}",
        f"  naming no one usable    {result.naming_no_one:>7}   (no staff reference: no offer)",
        f"offers that would be made {result.offers:>7}",
        f"  repeated reports, no second offer {result.repeated_offers:>4}",
        "",
        *block("offers by role", result.by_role),
        *block("offers by unit of the report", result.by_unit),
        *block("people left out, by role:reason", result.suppressed),
        *block("reports refused, by reason", result.refused),
        *block("values dropped at the boundary, by field:reason", result.dropped),
    ]
    if with_directory:
        lines += [
            *block("notifications by scheme", result.by_scheme),
            *block("notifications by channel", result.by_channel),
            *block("offers without a notification, by reason", result.not_notified),
        ]
    else:
        lines.append("(no --directory: schemes and channels are not simulated)")
    if result.refused_lines:
        shown = ", ".join(str(n) for n in result.refused_lines[:MAX_LISTED_LINES])
        lines.append(f"refused lines: {shown}")
    return "\n".join(lines)
