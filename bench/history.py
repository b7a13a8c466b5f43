"""Years of a large trust's history, as the topics of a compacted Kafka installation hold them.

``python -m bench.history --years 5`` builds it on an embedded broker, restarts a worker on
it and prints how long the worker took to be ready and what it restored (about three
minutes). The trust is fixed by :class:`Trust` and its seed, so every run feeds the same
reports at the same places in the window; what the policy's quiet hours do to them depends
on the hour the run ends, so counts of deliveries and answers vary by a few per cent.

On Kafka, the worker's changelogs, ``staff-directory``, ``supporters`` and ``evaluation``
are compacted, and every ledger forgets an offer once the policy's ``retention.offers``
(45 days by default) has passed. After five years they hold what the last 45 days left, the
evaluation cells of the months that can still change (to a month's end + 46 days), and the
tombstones of the last day (``delete.retention.ms``); the ``evaluation`` topic holds the
published cells of the last ``retention.evaluation_months`` (24). The embedded broker
compacts nothing, so that state is made here, in three steps:

1. **The retention window, by the real worker.** A worker whose clock is moved
   (``tools/movable_clock``) runs the default policy (2 h delay, quiet hours, one
   reminder after 3 days) through the last 45 days plus one, in one to two minutes: reports
   arrive at 30,000 a year, each naming three people of a 20,000-person directory in 300
   units (a reporter and two involved, all offered support); of the offers, a quarter are
   accepted, 15 % declined and 10 % answered "remind me later", hours to two days after
   they went out; 1 % of the staff are peer supporters. Its last simulated day forgets the
   offers of the first, as every day after 45 days does. Reports older than that are not
   fed: the worker drops them (``triggers.max_report_age``, 14 days, suppresses them as
   ``too-old``; :func:`too_old_dropped` checks it on the same worker).
2. **Compaction, as Kafka's cleaner does it.** Each compacted topic is copied to the
   installation that is measured, keeping the last record of each key and, of tombstones,
   those of the last simulated day.
3. **Older evaluation months, approximated.** The evaluation cells of months before the
   window are written to the ``evaluation`` topic, each month with the cells of the first
   whole simulated month under its own month, up to 24 months (12 for one year). Only a
   month that can still change (the window's first, partial one) goes to the worker's
   ``evaluation-cells`` changelog too; the worker forgot the older ones.

What differs from a real installation: a report's staff come from one unit, drawn evenly;
older months repeat the last whole month's cells; deliveries happen on the scheduler's
ticks, up to about an hour of simulated time late. Kafka's cleaner leaves the active
segment alone and waits until half a log is dirty (``min.cleanable.dirty.ratio``), so a
real changelog can hold up to about twice these records; this is the least it holds.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from runtime.broker import EmbeddedBroker
from runtime.kafka import confluent_config, producer_config
from runtime.settings import KafkaSettings
from runtime.topics import TOMBSTONES_KEPT, Topics, ensure_topics, milliseconds
from schemas import Answer, StaffProfile, SupporterProfile, SupportResponse
from schemas.boundary import pseudonymize
from schemas.policy import Policy
from schemas.policy.load import load_policy
from streams.evaluation.figures import Figures
from streams.evaluation.recorder import cell_expiry, month_start
from streams.policy.decide import offer_id_for
from streams.policy.timing import offer_due
from tools.worker import TEST_KEY, WorkerProcess, pseudonym

DEFAULT_POLICY: Final = Path(__file__).resolve().parents[1] / "schemas/policy/default-policy.yaml"
MOVABLE_CLOCK: Final = Path(__file__).resolve().parents[1] / "tools/movable_clock"
SOURCE: Final = "bench-history"
PROFESSIONS: Final = {
    "nurse": 45,
    "health-care-worker": 20,
    "physician": 18,
    "social-educator": 4,
    "midwife": 4,
    "psychologist": 3,
    "radiographer": 3,
    "pharmacist": 3,
}
"""Share of the directory, in per cent: roughly a Norwegian hospital trust's staff."""
ANSWERS: Final = ((Answer.ACCEPT, 0.25), (Answer.NOT_NOW, 0.15), (Answer.REMIND_LATER, 0.10))
SUPPORTER_EVERY: Final = 100
WINDOW_EXTRA: Final = timedelta(days=1)
"""Simulated beyond ``retention.offers``: one day in which offers are forgotten."""


@dataclass(frozen=True)
class Trust:
    reports_per_year: int = 30_000
    staff_per_report: int = 3
    people: int = 20_000
    units: int = 300
    seed: int = 2026


@dataclass(frozen=True)
class Installation:
    """What a worker needs to run on one generated history."""

    kafka: KafkaSettings
    app_id: str
    months: int
    pending: int
    """Entries waiting in ``deliveries-pending``: what the restored worker must show."""
    records: dict[str, int]
    """Records per table (its changelog) and per compacted topic, after compaction,
    tombstones included."""


@dataclass
class Feed:
    """Records to produce at their simulated time, in order."""

    reports: list[tuple[datetime, bytes]] = field(default_factory=list)
    responses: list[tuple[datetime, str, bytes]] = field(default_factory=list)
    offers: int = 0


def profile(number: int, trust: Trust) -> StaffProfile:
    professions = [name for name, share in PROFESSIONS.items() for _ in range(share)]
    return StaffProfile.model_validate(
        {
            "staff_ref": f"emp-{number}",
            "display_name": "Kari Nordmann",
            "profession": professions[(number * 7919) % len(professions)],
            "unit_code": f"U-{number % trust.units}",
            "manager_ref": f"emp-{number % trust.units}",
            "channels": [{"channel": "email", "address": f"person{number}@sykehus.example"}],
        }
    )


def producer(kafka: KafkaSettings) -> Producer:
    return Producer(producer_config(kafka, **{"queue.buffering.max.messages": 1_000_000}))


def produce(
    out: Producer,
    topic: str,
    value: bytes | None,
    key: bytes | str | None,
    partition: int | None = None,
    timestamp_ms: int = 0,
) -> None:
    while True:
        try:
            # partition -1: the partitioner chooses; timestamp 0: now
            out.produce(
                topic,
                value,
                key,
                partition=-1 if partition is None else partition,
                timestamp=timestamp_ms,
            )
            return
        except BufferError:
            out.poll(0.05)


def load_directory(kafka: KafkaSettings, first: int, people: int, trust: Trust) -> None:
    """People ``first`` to ``people - 1`` of the trust's directory; every hundredth is a
    peer supporter of their profession's scheme."""
    topics = Topics(kafka.topic_prefix)
    policy = load_policy(DEFAULT_POLICY)
    out = producer(kafka)
    for number in range(first, people):
        person = profile(number, trust)
        produce(out, topics.staff_directory, person.model_dump_json().encode(), person.staff_ref)
        if number % SUPPORTER_EVERY == 0 and number < trust.people:
            supporter = SupporterProfile(
                staff_ref=person.staff_ref,
                scheme_id=policy.scheme_for(person.profession).id,
                trained_until=date(2099, 12, 31),
            )
            produce(out, topics.supporters, supporter.model_dump_json().encode(), person.staff_ref)
    out.flush(120)


def report(report_id: str, at: datetime, unit: str, staff: list[str]) -> bytes:
    roles = ["reporter"] + ["involved"] * (len(staff) - 1)
    return json.dumps(
        {
            "format": "peer-support-bridge/incident-report",
            "version": 1,
            "report_id": report_id,
            "source_system": SOURCE,
            "reported_at": at.isoformat(),
            "unit_code": unit,
            "severity": "moderate",
            "description": "Synthetic report of the bench history.",
            "staff": [
                {"staff_ref": ref, "role": role} for ref, role in zip(staff, roles, strict=True)
            ],
        }
    ).encode()


def plan(trust: Trust, start: datetime, end: datetime, policy: Policy) -> Feed:
    """The reports of ``start``..``end`` at the trust's rate, and the answers to their
    offers that come before ``end``; the same for the same seed and window length."""
    rng = random.Random(trust.seed)
    span = (end - start).total_seconds()
    count = round(trust.reports_per_year * span / (365 * 86_400))
    feed = Feed()
    per_unit = trust.people // trust.units
    for number in range(count):
        at = start + timedelta(seconds=rng.uniform(0, span))
        unit = rng.randrange(trust.units)
        members = rng.sample(range(per_unit), trust.staff_per_report)
        staff = [f"emp-{unit + member * trust.units}" for member in members]
        report_id = f"h-{trust.seed}-{number}"
        feed.reports.append((at, report(report_id, at, f"U-{unit}", staff)))
        feed.offers += len(staff)
        due = offer_due(at, at, policy.timing)
        incident = pseudonymize(TEST_KEY, SOURCE, report_id)
        for ref in staff:
            draw, answer = rng.random(), None
            for candidate, share in ANSWERS:
                if draw < share:
                    answer = candidate
                    break
                draw -= share
            answered_at = due + timedelta(hours=rng.uniform(3, 48))
            if answer is None or answered_at >= end:
                continue
            person = pseudonym(ref)
            response = SupportResponse(
                offer_id=offer_id_for(TEST_KEY, incident, person),
                person=person,
                answer=answer,
                answered_at=answered_at,
            )
            feed.responses.append((answered_at, person, response.model_dump_json().encode()))
    feed.reports.sort(key=lambda item: item[0])
    feed.responses.sort(key=lambda item: item[0])
    return feed


class SimulatedClock:
    """Moves the worker's clock through ``movable_clock``'s file: the offset from real time.
    Every offset set is remembered, to tell a record's simulated time by its timestamp."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._since: list[float] = []  # real unix seconds each offset was set at
        self._offsets: list[float] = []

    def set(self, instant: datetime) -> None:
        real = time.time()
        offset = instant.timestamp() - real
        # replaced whole: a worker reading a half-written file would fall back to real time
        scratch = self.path.with_suffix(".new")
        scratch.write_text(f"{offset:.3f}")
        os.replace(scratch, self.path)
        self._since.append(real)
        self._offsets.append(offset)

    def simulated(self, real: float) -> float:
        """The worker's time when the real clock showed ``real`` (unix seconds)."""
        index = bisect.bisect_right(self._since, real) - 1
        return real + self._offsets[max(index, 0)]


def too_old_dropped(worker: WorkerProcess, kafka: KafkaSettings, now: datetime) -> float:
    """Reports dated past the policy's ``max_report_age`` make no offer: the count of
    people suppressed as too old for 10 such reports (20 if the worker drops them all)."""
    out = producer(kafka)
    topic = Topics(kafka.topic_prefix).incident_reports
    for number in range(10):
        at = now - timedelta(days=15 + number * 3)
        staff = [f"emp-{number}", f"emp-{number + 300}"]
        produce(out, topic, report(f"old-{number}", at, f"U-{number}", staff), None)
    out.flush(30)
    sample = 'psb_offers_suppressed_total{reason="too-old",role="%s"}'
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen = worker.metric(sample % "reporter") + worker.metric(sample % "involved")
        if seen >= 20:
            return seen
        time.sleep(0.25)
    return worker.metric(sample % "reporter") + worker.metric(sample % "involved")


def offers_made(worker: WorkerProcess) -> float:
    return sum(worker.metric(f'psb_offers_total{{role="{r}"}}') for r in ("reporter", "involved"))


def people_offered(worker: WorkerProcess) -> float:
    """People of the window's reports the worker decided about (offered, or not and why),
    besides the 20 of :func:`too_old_dropped`."""
    samples = worker.metrics().items()
    decided = sum(
        value
        for name, value in samples
        if name.startswith(("psb_offers_total{", "psb_offers_suppressed_total{"))
    )
    return decided - 20


def run_window(
    kafka: KafkaSettings, app_id: str, workdir: Path, trust: Trust, seconds: float
) -> tuple[SimulatedClock, datetime, Feed]:
    """Feed the retention window to a real worker whose clock runs ``window / seconds``
    times as fast, ending at the real present; returns the clock (its offsets, for the
    records' simulated times), the window's start and what was fed."""
    policy = load_policy(DEFAULT_POLICY)
    window = policy.retention.offers + WINDOW_EXTRA
    clock = SimulatedClock(workdir / f"clock-{app_id}")
    topics = Topics(kafka.topic_prefix)
    start = datetime.now(UTC) + timedelta(seconds=seconds) - window
    clock.set(start)
    worker = WorkerProcess(
        kafka,
        app_id,
        workdir,
        policy=DEFAULT_POLICY,
        extra_env={
            "PSB_LOG_LEVEL": "warning",
            "PYTHONPATH": str(MOVABLE_CLOCK),
            "PSB_TEST_CLOCK_FILE": str(clock.path),
            "PSB_WORKER_SCHEDULER_INTERVAL_MS": "50",
            "PSB_WORKER_EXPIRY_INTERVAL_S": "1",
        },
    )
    worker.start(ready_timeout=180)
    try:
        clock.set(start)
        dropped = too_old_dropped(worker, kafka, start)
        print(f"  reports older than max_report_age: {dropped:.0f} of 20 people suppressed")
        feed = plan(trust, start, start + window, policy)
        out = producer(kafka)
        speed = window.total_seconds() / seconds
        reports, responses = iter(feed.reports), iter(feed.responses)
        next_report, next_response = next(reports, None), next(responses, None)
        now, sent, checked, behind = start, 0, time.monotonic(), False
        last = time.monotonic()
        while now < start + window:
            tick = time.monotonic()
            if tick - checked > 0.5:  # hold the clock while the worker is behind
                checked = tick
                behind = people_offered(worker) < (sent - 100) * trust.staff_per_report
            if not behind:
                now = min(now + timedelta(seconds=(tick - last) * speed), start + window)
            last = tick
            clock.set(now)
            while next_report is not None and next_report[0] <= now:
                produce(out, topics.incident_reports, next_report[1], None)
                sent += 1
                next_report = next(reports, None)
            while next_response is not None and next_response[0] <= now:
                produce(out, topics.support_responses, next_response[2], next_response[1])
                next_response = next(responses, None)
            out.poll(0)
            time.sleep(0.02)
        out.flush(60)
        clock.set(datetime.now(UTC))
        worker.wait_metric('psb_reports_total{outcome="signal"}', len(feed.reports) + 10, 120)
        deadline = time.monotonic() + 60
        while (offers := offers_made(worker)) < feed.offers and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # a commit, so the ledgers' changelogs are out
        suppressed: dict[str, float] = {}
        for name, value in worker.metrics().items():
            if name.startswith("psb_offers_suppressed_total{") and value:
                reason = name.split('reason="')[1].split('"')[0]
                suppressed[reason] = suppressed.get(reason, 0) + value
        print(
            f"  window: {len(feed.reports):,} reports, {offers:,.0f} offers made "
            f"(expected {feed.offers:,}), {len(feed.responses):,} answers, "
            f"{worker.metric('psb_schedule_backlog'):,.0f} entries waiting; people without an "
            f"offer by reason: {suppressed}"
        )
    finally:
        worker.stop()
    return clock, start, feed


def changelogs(kafka: KafkaSettings, app_id: str) -> list[str]:
    admin = AdminClient(confluent_config(kafka))
    names = admin.list_topics(timeout=10).topics
    return sorted(n for n in names if n.startswith(f"{app_id}-") and n.endswith("-changelog"))


def read_all(kafka: KafkaSettings, topics: list[str]) -> Iterator[Message]:
    """Every record of ``topics``, until none comes for a
    second (not up to the high watermark, which the embedded broker reports short)."""
    consumer = Consumer(confluent_config(kafka, **{"group.id": f"history-{uuid.uuid4().hex}"}))
    metadata = consumer.list_topics(timeout=10).topics
    consumer.assign(
        [
            TopicPartition(topic, number, OFFSET_BEGINNING)
            for topic in topics
            for number in metadata[topic].partitions
        ]
    )
    try:
        while True:
            messages = consumer.consume(10_000, 1.0)
            if not messages:
                return
            for message in messages:
                if message.error() is None:
                    yield message
    finally:
        consumer.close()


Compacted = dict[str, dict[int, dict[bytes, tuple[bytes | None, int]]]]


def compact(
    kafka: KafkaSettings, topics: list[str], clock: SimulatedClock, end: float
) -> Compacted:
    """topic → partition → key → (last value, timestamp), as Kafka's cleaner leaves it:
    a tombstone stays only if it was written in the last day of simulated time."""
    kept: Compacted = {}
    for message in read_all(kafka, topics):
        topic, partition, key = message.topic(), message.partition(), message.key()
        if topic is None or partition is None or key is None:
            continue
        _, stamp = message.timestamp()
        kept.setdefault(topic, {}).setdefault(partition, {})[key] = (message.value(), stamp)
    cutoff = end - TOMBSTONES_KEPT.total_seconds()
    for partitions in kept.values():
        for records in partitions.values():
            gone = [
                key
                for key, (value, stamp) in records.items()
                if value is None and clock.simulated(stamp / 1000) < cutoff
            ]
            for key in gone:
                del records[key]
    return kept


def create_changelogs(kafka: KafkaSettings, names: list[str]) -> None:
    admin = AdminClient(confluent_config(kafka))
    config = {"cleanup.policy": "compact", "delete.retention.ms": milliseconds(TOMBSTONES_KEPT)}
    new = [NewTopic(name, kafka.partitions, 1, config=config) for name in names]
    for future in admin.create_topics(new, operation_timeout=30).values():
        future.result(timeout=30)


def faust_str(raw: bytes) -> str:
    """A value of a ``value_type=str`` table's changelog, as Faust's JSON serializer wrote it."""
    decoded = json.loads(raw)
    return decoded if isinstance(decoded, str) else str(decoded)


def older_months(
    cells: dict[int, dict[bytes, tuple[bytes | None, int]]],
    first_month: str,
    months: int,
    policy: Policy,
) -> Iterator[Figures]:
    """Published cells of the ``months`` months before ``first_month``, each a copy of a
    cell of ``first_month`` (read from the worker's ``evaluation-cells`` changelog, where
    that month can still change)."""
    zone = policy.timing.zone
    for records in cells.values():
        for value, _ in records.values():
            if value is None:
                continue
            _, _, figures_json = faust_str(value).split("|", 2)
            figures = Figures.model_validate_json(figures_json)
            if figures.month != first_month:
                continue
            for back in range(1, months + 1):
                month = month_start(first_month, -back, zone).strftime("%Y-%m")
                yield figures.model_copy(update={"month": month})


def still_kept(figures: Figures, now: datetime, policy: Policy) -> bytes | None:
    """The cell as the worker's ``evaluation-cells`` changelog holds it, if its month can
    still change at ``now`` (:func:`cell_expiry`); ``None`` once the worker forgot it."""
    expiry = cell_expiry(figures.month, policy)
    if expiry <= now:
        return None
    stored = f"{int(expiry.timestamp())}|{figures.partition}|{figures.model_dump_json()}"
    return json.dumps(stored).encode()


def install(
    kafka: KafkaSettings,
    staged: Compacted,
    source_app: str,
    app_id: str,
    source_prefix: str,
    first_month: str,
    months: int,
) -> Installation:
    """Copy the compacted history into ``kafka``'s prefix under ``app_id``, with published
    evaluation cells for ``months`` whole months before the window."""
    policy = load_policy(DEFAULT_POLICY)
    ensure_topics(kafka, Topics(kafka.topic_prefix).specs())
    renamed = {
        name: f"{app_id}-{name.removeprefix(source_app + '-')}"
        for name in staged
        if name.startswith(source_app + "-")
    }
    create_changelogs(kafka, sorted(renamed.values()))
    for shared in ("staff-directory", "supporters", "evaluation"):
        renamed[f"{source_prefix}{shared}"] = f"{kafka.topic_prefix}{shared}"
    out = producer(kafka)
    records: dict[str, int] = {}
    pending = 0
    # the cells of the window's first, partial month are replaced by the written ones
    zone = policy.timing.zone
    partial = month_start(first_month, -1, zone).strftime("%Y-%m")
    for source, partitions in staged.items():
        target = renamed[source]
        table = target.removeprefix(f"{app_id}-").removesuffix("-changelog")
        table = table.removeprefix(kafka.topic_prefix)
        replaced = months > 0 and table in ("evaluation-cells", "evaluation")
        for partition, held in partitions.items():
            kept = {
                key: record
                for key, record in held.items()
                if not (replaced and key.lstrip(b'"').startswith(partial.encode()))
            }
            for key, (value, stamp) in kept.items():
                produce(out, target, value, key, partition, stamp)
            records[table] = records.get(table, 0) + len(kept)
            if table == "deliveries-pending":
                pending += sum(value is not None for value, _ in kept.values())
    cells_topic = f"{app_id}-evaluation-cells-changelog"
    evaluation = Topics(kafka.topic_prefix).evaluation
    cells = staged.get(f"{source_app}-evaluation-cells-changelog", {})
    now = datetime.now(UTC)
    for figures in older_months(cells, first_month, months, policy):
        produce(out, evaluation, figures.model_dump_json().encode(), figures.key)
        records["evaluation"] = records.get("evaluation", 0) + 1
        stored = still_kept(figures, now, policy)
        if stored is not None:  # the window's first, partial month can still change
            produce(out, cells_topic, stored, json.dumps(figures.key).encode(), figures.partition)
            records["evaluation-cells"] = records.get("evaluation-cells", 0) + 1
    out.flush(120)
    return Installation(kafka, app_id, months, pending, records)


def build(
    bootstrap: str, workdir: Path, years: list[int], trust: Trust = Trust(), seconds: float = 60
) -> dict[int, Installation]:
    """One history, installed once per number of years (they differ in evaluation months)."""
    policy = load_policy(DEFAULT_POLICY)
    run = uuid.uuid4().hex[:6]
    staging = kafka_at(bootstrap, f"hist-{run}.")
    load_directory(staging, 0, trust.people, trust)
    source_app = f"hist-{run}"
    started = time.monotonic()
    clock, start, _ = run_window(staging, source_app, workdir, trust, seconds)
    print(f"  window fed in {time.monotonic() - started:.0f} s")
    topics = Topics(staging.topic_prefix)
    names = [*changelogs(staging, source_app), topics.staff_directory, topics.supporters]
    names.append(topics.evaluation)
    staged = compact(staging, names, clock, time.time())
    first_month = first_whole_month(start, policy)
    installed = {}
    for count in years:
        target = kafka_at(bootstrap, f"y{count}-{run}.")
        installed[count] = install(
            target,
            staged,
            source_app,
            f"y{count}-{run}",
            staging.topic_prefix,
            first_month,
            months_to_write(count, first_month, datetime.now(UTC), policy),
        )
    return installed


def first_whole_month(start: datetime, policy: Policy) -> str:
    """The first month (``YYYY-MM``, in the policy's time zone) the window covers whole, or
    up to now: the one after the month it starts in."""
    zone = policy.timing.zone
    return month_start(start.astimezone(zone).strftime("%Y-%m"), 1, zone).strftime("%Y-%m")


def months_to_write(years: int, first_month: str, now: datetime, policy: Policy) -> int:
    """Months of evaluation cells to write before ``first_month``: an installation ``years``
    old keeps ``retention.evaluation_months`` at most, the current month included, and the
    window made those from ``first_month`` to now."""
    kept = min(years * 12, policy.retention.evaluation_months)
    local = now.astimezone(policy.timing.zone)
    year, number = (int(part) for part in first_month.split("-"))
    simulated = (local.year * 12 + local.month) - (year * 12 + number) + 1
    return max(kept - simulated, 0)


def kafka_at(bootstrap: str, prefix: str) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=bootstrap, topic_prefix=prefix, partitions=6, session_timeout_ms=6000
    )


def ready_seconds(installation: Installation, workdir: Path) -> tuple[float, float]:
    """Start to ready of a worker on ``installation``, and the entries it shows waiting."""
    worker = WorkerProcess(
        installation.kafka,
        installation.app_id,
        workdir,
        policy=DEFAULT_POLICY,
        extra_env={"PSB_LOG_LEVEL": "warning"},
    )
    started = time.monotonic()
    worker.start(ready_timeout=300)
    ready = time.monotonic() - started
    try:
        time.sleep(1.5)  # a scheduler tick counts what waits
        return ready, worker.metric("psb_schedule_backlog")
    finally:
        worker.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__)
    parser.add_argument("--years", type=int, nargs="+", default=[5])
    parser.add_argument("--seconds", type=float, default=60, help="real time for the window")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="psb-history-"))
    with EmbeddedBroker(log_file=workdir / "broker.log") as broker:
        for years, installation in build(
            broker.bootstrap, workdir, args.years, seconds=args.seconds
        ).items():
            ready, waiting = ready_seconds(installation, workdir)
            shared = ("staff-directory", "supporters", "evaluation")
            total = sum(n for name, n in installation.records.items() if name not in shared)
            print(
                f"{years} years: {total:,} records in the worker's changelogs "
                f"({installation.months} older evaluation months), ready in {ready:.1f} s, "
                f"{waiting:,.0f} of {installation.pending:,} waiting entries restored"
            )
            for table, count in sorted(installation.records.items()):
                print(f"    {table:24s} {count:>9,}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
