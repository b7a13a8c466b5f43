"""The bench's history generator makes the history it says: the trust's rate of reports,
answers only to offers already sent, and the evaluation months a compacted installation of
that age keeps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.history import (
    DEFAULT_POLICY,
    SimulatedClock,
    Trust,
    first_whole_month,
    months_to_write,
    older_months,
    plan,
    profile,
    still_kept,
)
from schemas.policy.load import load_policy
from streams.evaluation.figures import Figures
from streams.policy.timing import offer_due

POLICY = load_policy(DEFAULT_POLICY)
END = datetime(2026, 12, 4, 8, tzinfo=UTC)
START = END - POLICY.retention.offers - timedelta(days=1)


def test_the_window_holds_a_large_trusts_reports_each_naming_three_colleagues() -> None:
    trust = Trust()
    feed = plan(trust, START, END, POLICY)
    assert len(feed.reports) == round(30_000 * 46 / 365)
    assert feed.offers == 3 * len(feed.reports)
    for at, raw in feed.reports[:200]:
        report = json.loads(raw)
        staff = [person["staff_ref"] for person in report["staff"]]
        assert START <= at < END
        assert len(set(staff)) == 3
        units = {profile(int(ref.removeprefix("emp-")), trust).unit_code for ref in staff}
        assert units == {report["unit_code"]}
    assert [at for at, _ in feed.reports] == sorted(at for at, _ in feed.reports)
    assert plan(trust, START, END, POLICY).responses == feed.responses


def test_answers_come_after_the_offer_went_out_and_before_the_end() -> None:
    feed = plan(Trust(), START, END, POLICY)
    first_due = offer_due(feed.reports[0][0], feed.reports[0][0], POLICY.timing)
    assert 0.4 < len(feed.responses) / feed.offers < 0.6
    assert all(first_due < answered_at < END for answered_at, _, _ in feed.responses)


def test_a_records_simulated_time_follows_the_offset_in_force_when_it_was_written(
    tmp_path: Path,
) -> None:
    clock = SimulatedClock(tmp_path / "clock")
    clock.set(START)
    real = datetime.now(UTC).timestamp()
    assert abs(clock.simulated(real) - START.timestamp()) < 5
    clock.set(END + timedelta(days=400))
    assert abs(clock.simulated(real) - START.timestamp()) < 5
    assert float((tmp_path / "clock").read_text()) > 0


def test_five_years_keep_24_evaluation_months_and_one_year_12() -> None:
    first = first_whole_month(START, POLICY)
    assert first == "2026-11"
    assert months_to_write(5, first, END, POLICY) == 22  # + November and December
    assert months_to_write(1, first, END, POLICY) == 10
    assert months_to_write(10, first, END, POLICY) == 22


def test_older_months_repeat_the_first_whole_months_cells_on_the_evaluation_topic() -> None:
    cell = Figures(month="2026-11", unit="U-1", profession="nurse", scheme="a", partition=4)
    stored = json.dumps(f"1|4|{cell.model_dump_json()}").encode()
    partial = cell.model_copy(update={"month": "2026-10"})
    other = json.dumps(f"1|4|{partial.model_dump_json()}").encode()
    cells = {4: {b"k1": (stored, 0), b"k2": (other, 0), b"k3": (None, 0)}}
    written = list(older_months(cells, "2026-11", 22, POLICY))
    assert [figures.month for figures in written][:2] == ["2026-10", "2026-09"]
    assert written[-1].month == "2025-01"
    assert (written[0].key, written[0].partition) == ("2026-10|U-1|nurse|a|4", 4)


def test_only_a_month_that_can_still_change_goes_to_the_workers_changelog_too() -> None:
    october, september = (
        Figures(month=month, unit="U-1", profession="nurse", scheme="a", partition=4)
        for month in ("2026-10", "2026-09")
    )
    stored = still_kept(october, END, POLICY)  # 1 November + 45 days + 1 is after 4 December
    assert stored is not None
    expiry, partition, value = json.loads(stored).split("|", 2)
    assert datetime.fromtimestamp(int(expiry), POLICY.timing.zone).strftime("%Y-%m-%d") == (
        "2026-12-17"
    )
    assert (partition, Figures.model_validate_json(value)) == ("4", october)
    assert still_kept(september, END, POLICY) is None  # settled on 16 November
