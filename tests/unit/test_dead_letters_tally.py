"""What ``dead-letters list`` shows: counts by topic, reason and field path, never a value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.deadletters.letters import DeadLetters, Filed, dlq_topics
from connectors.deadletters.tally import listing
from schemas import DeadLetter, Reason

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def letter(
    reason: Reason, path: str | None, minutes: int, topic: str = "p.incident-reports"
) -> Filed:
    dead = DeadLetter(
        source_topic=topic,
        partition=0,
        offset=minutes,
        reason=reason,
        field_path=path,
        recorded_at=T0 + timedelta(minutes=minutes),
    )
    return Filed(f"{topic}.dlq", dead)


def test_rows_count_by_topic_reason_and_path_with_oldest_and_newest() -> None:
    found = DeadLetters(
        filed=[
            letter(Reason.WRONG_TYPE, "staff", 5),
            letter(Reason.TOO_LARGE, None, 1),
            letter(Reason.WRONG_TYPE, "staff", 2),
            letter(Reason.WRONG_TYPE, "staff.0.role", 3),
            letter(Reason.REFUSED, None, 4, topic="p.notifications.email"),
        ]
    )
    found.unreadable["p.incident-reports.dlq"] = 1
    result = listing(found)
    assert result.dead_letters == 5
    assert result.unreadable == {"p.incident-reports.dlq": 1}
    assert [(r.topic, r.reason.value, r.field_path, r.count) for r in result.rows] == [
        ("p.incident-reports.dlq", "too-large", None, 1),
        ("p.incident-reports.dlq", "wrong-type", "staff", 2),
        ("p.incident-reports.dlq", "wrong-type", "staff.0.role", 1),
        ("p.notifications.email.dlq", "refused", None, 1),
    ]
    staff = result.rows[1]
    assert (staff.oldest, staff.newest) == (T0 + timedelta(minutes=2), T0 + timedelta(minutes=5))


def test_only_the_deployments_dead_letter_topics_are_read() -> None:
    names = ["p.incident-reports.dlq", "p.incident-reports", "q.incident-reports.dlq", "p.x.dlq.y"]
    assert dlq_topics(names, "p.") == ["p.incident-reports.dlq"]
