"""The demo's summary: each count with the reason it is what it is, derived from the records
(:mod:`peer_support.demo_facts`), the directory and the policy the demo used, so a count
that comes out differently explains itself differently instead of contradicting its text."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from peer_support.demo_facts import Facts
from peer_support.demo_reports import REPLAY_FILE, Sent
from schemas import Answer, NotificationKind, StaffProfile
from schemas.boundary import PseudonymKey, pseudonymize_staff
from schemas.dead_letter import REASON_TEXT
from schemas.policy import Policy
from streams.policy.decide import role_offered

INDENT = " " * 26


@dataclass(frozen=True)
class Context:
    """What the demo set up: whom the directory holds, under which key and policy."""

    key: PseudonymKey
    directory: list[StaffProfile]
    policy: Policy

    def profile(self, person: str) -> StaffProfile | None:
        return next(
            (p for p in self.directory if pseudonymize_staff(self.key, p.staff_ref) == person),
            None,
        )


def _line(label: str, count: int, reason: str) -> str:
    return f"  {label:<20} {count:>3}  — {reason}"


def _listed(counts: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{count} {what}" for what, count in counts if count)


def reports(facts: Facts, sent: Sent) -> list[str]:
    reason = f"{sent.live} samples sent live, {sent.replayed} replayed from {REPLAY_FILE}"
    if facts.reports_in != sent.live + sent.replayed:
        reason += f" (the topic holds {facts.reports_in})"
    return [_line("reports in", facts.reports_in, reason)]


def dead_letters(facts: Facts) -> list[str]:
    reasons = Counter(letter.reason for letter in facts.dead_letters)
    text = "; ".join(
        f"{n} {code.value} ({REASON_TEXT[code]})" for code, n in sorted(reasons.items())
    )
    reason = (
        f"refused at the privacy boundary: {text}; its dead letter says where and why, "
        "never what the record held"
        if text
        else ""
    )
    return [_line("dead-lettered", len(facts.dead_letters), reason or "none refused")]


def signals(facts: Facts) -> list[str]:
    incidents = len({signal.incident for signal in facts.signals})
    repeats = len(facts.signals) - incidents
    reason = (
        f"one per report that passed the boundary ({facts.reports_in} in, "
        f"{len(facts.dead_letters)} dead-lettered): {incidents} incidents"
    )
    if repeats:
        reason += f", {repeats} of them reported again (the replay)"
    return [_line("incident signals", len(facts.signals), reason)]


def offers(facts: Facts, ctx: Context) -> list[str]:
    offered = {(offer.incident, offer.person) for offer in facts.offers}
    named = {
        (signal.incident, staff.person): staff.role
        for signal in facts.signals
        for staff in signal.staff
    }
    not_offered: Counter[str] = Counter()
    for (incident, person), role in named.items():
        if (incident, person) in offered:
            continue
        if not role_offered(role, ctx.policy):
            not_offered[f"named as {role.value} (roles.{role.value} is false in the policy)"] += 1
        elif ctx.profile(person) is None:
            not_offered["unknown staff (not in the staff directory)"] += 1
        else:
            not_offered["left out by the policy's triggers"] += 1
    incidents = len({incident for incident, _ in named})
    reason = f"one per person named in the {incidents} incidents whom the policy offers support"
    lines = [_line("support offers", len(facts.offers), reason)]
    if not_offered:
        lines.append(f"{INDENT}not offered: {_listed(sorted(not_offered.items()))}")
    repeated = len(facts.signals) - len({signal.incident for signal in facts.signals})
    if repeated and len({offer.offer_id for offer in facts.offers}) == len(facts.offers):
        lines.append(f"{INDENT}the replayed report made no second offer")
    return lines


def notifications(facts: Facts, ctx: Context) -> list[str]:
    kinds = Counter(n.kind for n in facts.notifications)
    channels = dict(sorted(Counter(n.channel.value for n in facts.notifications).items()))
    lines = [
        _line(
            "notifications",
            len(facts.notifications),
            _listed(
                [
                    ("offers", kinds[NotificationKind.OFFER]),
                    ("reminders", kinds[NotificationKind.REMINDER]),
                    (
                        "hand-off" if kinds[NotificationKind.HANDOFF] == 1 else "hand-offs",
                        kinds[NotificationKind.HANDOFF],
                    ),
                ]
            )
            + f"   {json.dumps(channels)}",
        )
    ]
    notified = {n.offer_id for n in facts.notifications if n.kind is NotificationKind.OFFER}
    silent: Counter[str] = Counter()
    for offer in facts.offers:
        if offer.offer_id in notified:
            continue
        profile = ctx.profile(offer.person)
        if profile is None:
            silent["unknown staff"] += 1
        elif profile.opted_out:
            silent[f"opted out ({profile.staff_ref})"] += 1
        else:
            silent[f"no enabled channel ({profile.staff_ref})"] += 1
    offer_line = f"{kinds[NotificationKind.OFFER]} offers: one per support offer"
    if silent:
        offer_line += f", except {_listed(sorted(silent.items()))}"
    lines.append(INDENT + offer_line)
    after = ctx.policy.timing.reminder.after
    reminder_line = (
        f"{kinds[NotificationKind.REMINDER]} reminders: one per offer still unanswered after "
        f"the policy's reminder.after ({after.total_seconds():.0f}s)"
    )
    if facts.reminders_cancelled:
        reminder_line += f"; {facts.reminders_cancelled} cancelled by an answer before it was due"
    elif facts.responses:
        reminder_line += "; every answer came after its reminder, so none was cancelled"
    lines.append(INDENT + reminder_line)
    later = [r for r in facts.responses if r.answer is Answer.REMIND_LATER]
    reminded = Counter(
        n.offer_id for n in facts.notifications if n.kind is NotificationKind.REMINDER
    )
    waiting = {r.offer_id for r in later if reminded[r.offer_id] < 2}
    if waiting:
        lines.append(
            f"{INDENT}{len(waiting)} 'remind me later' asks for one more reminder, due "
            f"{after.total_seconds():.0f}s after the answer: after this demo has ended"
        )
    return lines


def answers(facts: Facts) -> list[str]:
    counted = Counter(r.answer for r in facts.responses)
    recorded = [(answer.value, counted[answer]) for answer in Answer]
    unique = len({(r.offer_id, r.answer) for r in facts.responses})
    reason = f"{_listed(recorded)}: the clicks above"
    if unique == len(facts.responses):
        reason += "; the repeated confirmations recorded nothing new"
    return [_line("answers", len(facts.responses), reason)]


def handoffs(facts: Facts, ctx: Context) -> list[str]:
    accepted = {r.offer_id for r in facts.responses if r.answer is Answer.ACCEPT}
    made = [n for n in facts.notifications if n.kind is NotificationKind.HANDOFF]
    routes = Counter(
        f"to the coordinator of {n.recipient_ref.removeprefix('coordinator:')}"
        if n.recipient_ref.startswith("coordinator:")
        else "to a peer supporter"
        for n in made
    )
    lines = [
        _line(
            "hand-offs made",
            len(made),
            f"{len(accepted)} accepted: {_listed(sorted(routes.items())) or 'none handed off'}",
        )
    ]
    handed = {n.offer_id for n in made}
    offer_notes = {n.offer_id: n for n in facts.notifications if n.kind is NotificationKind.OFFER}
    for offer_id in sorted(accepted - handed):
        note = offer_notes.get(offer_id)
        scheme = ctx.policy.scheme(note.scheme.scheme_id) if note and note.scheme else None
        reasons = ", ".join(sorted(facts.handoffs_not_made)) or "see worker.log"
        if scheme is not None and scheme.coordinator is None:
            who = f"the {note.profession.value}s' scheme ({scheme.id})" if note else scheme.id
            supporters = (
                "no peer supporters are registered in this demo"
                if facts.supporters == 0
                else "no peer supporter was free"
            )
            lines.append(
                f"{INDENT}1 not handed off ({reasons}): {who} has no coordinator in this "
                f"policy, and {supporters}"
            )
        else:
            lines.append(f"{INDENT}1 not handed off ({reasons})")
    return lines


def delivered(facts: Facts, delivered_ids: list[str]) -> list[str]:
    on_topics = {n.notification_id for n in facts.notifications}
    unique = set(delivered_ids)
    parts = []
    missing = len(on_topics - unique)
    repeats = len(delivered_ids) - len(unique)
    if not missing and not repeats:
        parts.append("every notification on the topics, each once")
    if missing:
        parts.append(f"{missing} not (yet) delivered")
    if repeats:
        parts.append(f"{repeats} delivered twice")
    return [_line("delivered (outbox)", len(delivered_ids), "; ".join(parts))]


def summary(facts: Facts, sent: Sent, ctx: Context, delivered_ids: list[str]) -> list[str]:
    return [
        "summary (read from the topics, each count with its reason)",
        *reports(facts, sent),
        *dead_letters(facts),
        *signals(facts),
        *offers(facts, ctx),
        *notifications(facts, ctx),
        *answers(facts),
        *handoffs(facts, ctx),
        *delivered(facts, delivered_ids),
    ]
