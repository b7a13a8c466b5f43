"""Choosing what a re-drive sends, and the counts an operator reads afterwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from connectors.deadletters.letters import Filed
from connectors.deadletters.naming import source_topic
from connectors.deadletters.positions import REDRIVEN_FROM, Position, marked, redriven_from
from connectors.deadletters.redrive import redrive
from connectors.deadletters.select import select
from connectors.deadletters.source import SourceRecord, SourceScan
from peer_support.dead_letters_cli import dead_letters_app
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import DeadLetter, Reason

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
REPORTS = "p.incident-reports"


def filed(offset: int, reason: Reason = Reason.TOO_LARGE, *, at: datetime = T0) -> Filed:
    letter = DeadLetter(
        source_topic=REPORTS, partition=0, offset=offset, reason=reason, recorded_at=at
    )
    return Filed(f"{REPORTS}.dlq", letter)


def test_a_topic_is_named_with_or_without_its_prefix_or_dlq_suffix() -> None:
    topics = Topics("p.")
    for name in ("incident-reports", "p.incident-reports", "incident-reports.dlq"):
        assert source_topic(name, topics) == REPORTS
    assert source_topic("notifications.email", topics) == "p.notifications.email"
    assert source_topic("support-responses", topics) is None  # no dead-letter topic
    assert source_topic("incident-report", topics) is None


def test_filters_and_repeats_are_counted_and_each_position_is_taken_once() -> None:
    other = DeadLetter(
        source_topic="p.incident-signals",
        partition=0,
        offset=1,
        reason=Reason.INVALID,
        recorded_at=T0,
    )
    letters = [
        filed(7),
        filed(3),
        filed(7),  # the worker refused offset 7 twice
        filed(4, Reason.WRONG_TYPE),
        filed(5, at=T0 - timedelta(days=2)),
        Filed(f"{REPORTS}.dlq", other),
    ]
    chosen = select(letters, REPORTS, {Reason.TOO_LARGE}, since=T0 - timedelta(days=1))
    assert [p.offset for p in chosen.positions] == [3, 7]
    assert (chosen.read, chosen.filtered, chosen.repeated) == (6, 3, 1)


def test_a_dry_run_counts_what_would_be_sent_and_the_counts_add_up() -> None:
    chosen = select(
        [filed(1), filed(2), filed(3), filed(3), filed(4, Reason.MISSING)],
        REPORTS,
        {Reason.TOO_LARGE},
    )
    record = SourceRecord(key=b"k", value=b"{}", headers=None, created_ms=1)
    scan = SourceScan(
        records={Position(REPORTS, 0, 1): record, Position(REPORTS, 0, 2): record},
        redriven={Position(REPORTS, 0, 2)},
    )
    named: list[Position] = []
    summary = redrive(
        KafkaSettings(bootstrap_servers="127.0.0.1:1"),
        REPORTS,
        chosen,
        scan,
        dry_run=True,
        expired=named.append,
    )
    assert (summary.redriven, summary.already_redriven, summary.expired, summary.filtered) == (
        1,
        2,
        1,
        1,
    )
    assert summary.read == (
        summary.redriven
        + summary.already_redriven
        + summary.expired
        + summary.filtered
        + summary.failed
    )
    assert named == [Position(REPORTS, 0, 3)]
    assert summary.as_dict()["expired_positions"] == [f"{REPORTS}/0/3"]


def test_the_mark_names_the_position_and_replaces_an_earlier_mark() -> None:
    first = Position("p.incident-reports", 2, 17)
    headers = marked([("traceparent", b"00-ab"), (REDRIVEN_FROM, b"p.incident-reports/0/1")], first)
    assert headers == [("traceparent", b"00-ab"), (REDRIVEN_FROM, b"p.incident-reports/2/17")]
    assert redriven_from(headers) == first
    assert redriven_from({REDRIVEN_FROM: "a.b/x/1"}) is None
    assert redriven_from(None) is None


def test_a_topic_without_dead_letters_is_one_line_naming_the_choices() -> None:
    result = CliRunner().invoke(dead_letters_app, ["redrive", "incident-report"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: incident-report has no dead-letter topic; give one")
    assert "incident-reports" in result.stderr
    assert len(result.stderr.splitlines()) == 1
