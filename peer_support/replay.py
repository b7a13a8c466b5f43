"""``peer-support replay FILE.ndjson``: backfill or a trial run from a file of past reports.

Each line is minimized here, as the ingest server does, and only the resulting
``IncidentSignal`` is produced (to ``incident-signals``): the raw reports, patient details
and all, never reach Kafka, which a backfill of a year of reports would otherwise put there
in bulk. A malformed line is reported by its number and reason (never its content) and
skipped; the run goes on. Offer and notification ids are derived from the incident
pseudonym, so replaying a file twice offers nothing twice. Codes cross as they do in the
worker: those the policy declares, the configured source systems, and (unless it is a dry
run) the units of the staff directory on the broker.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from confluent_kafka import KafkaError, Message, Producer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from connectors.directory.topic import DirectoryTopicError, read_latest
from peer_support.exits import (
    EXIT_PARTLY,
    EXIT_UNAVAILABLE,
    broker_errors,
    broker_or_exit,
    fail,
    settings_or_exit,
)
from peer_support.policies import policy_or_exit
from runtime import settings as config
from runtime.kafka import producer_config
from runtime.topics import Topics
from schemas import StaffProfile
from schemas.boundary import BoundaryError, InputFormat, Vocabulary, project
from schemas.boundary.pseudonym import PseudonymKey


@dataclass
class ReplaySummary:
    """Counts that add up: ``lines = blank + malformed + older + produced + failed``
    (in a dry run, ``valid`` stands for produced)."""

    lines: int = 0
    blank: int = 0
    valid: int = 0
    older: int = 0
    produced: int = 0
    failed: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "blank": self.blank,
            "valid": self.valid,
            "older_than_since": self.older,
            "produced": self.produced,
            "failed": self.failed,
            "malformed": sum(self.malformed.values()),
            "malformed_by_reason": dict(sorted(self.malformed.items())),
            "dropped_by_field_and_reason": dict(sorted(self.dropped.items())),
        }


class _Deliveries:
    """Delivery reports of confluent-kafka, counted as they arrive."""

    def __init__(self) -> None:
        self.acknowledged = 0
        self.failed = 0
        self._lock = threading.Lock()

    def __call__(self, error: KafkaError | None, _message: Message) -> None:
        with self._lock:
            if error is None:
                self.acknowledged += 1
            else:
                self.failed += 1


def replay_lines(
    path: Path,
    key: PseudonymKey,
    vocabulary: Vocabulary,
    *,
    input_format: InputFormat,
    fhir_source_system: str,
    max_bytes: int,
    since: datetime | None,
    producer: Producer | None,
    topic: str,
    report: Any,
    advance: Any,
) -> ReplaySummary:
    summary = ReplaySummary()
    deliveries = _Deliveries()
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            summary.lines += 1
            advance(len(line))
            if not line.strip():
                summary.blank += 1
                continue
            try:
                projection = project(
                    line,
                    key,
                    vocabulary,
                    input_format=input_format,
                    fhir_source_system=fhir_source_system,
                    max_bytes=max_bytes,
                )
            except BoundaryError as error:
                summary.malformed[error.reason.value] += 1
                report(f"line {number}: {error}")
                continue
            for drop in projection.dropped:
                summary.dropped[f"{drop.field.value}:{drop.reason.value}"] += 1
            signal = projection.signal
            if since is not None and signal.reported_at < since:
                summary.older += 1
                continue
            summary.valid += 1
            if producer is None:
                continue
            value = signal.model_dump_json().encode()
            while True:
                try:
                    producer.produce(
                        topic, key=signal.incident.encode(), value=value, on_delivery=deliveries
                    )
                    break
                except BufferError:  # local queue full: let deliveries drain it
                    producer.poll(0.5)
            producer.poll(0)
    if producer is not None:
        producer.flush(60)
        summary.produced = deliveries.acknowledged
        summary.failed = summary.valid - deliveries.acknowledged
    return summary


def replay_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="Newline-delimited JSON, one report per line.", exists=True, dir_okay=False
        ),
    ],
    input_format: Annotated[
        InputFormat, typer.Option("--format", help="Format of the lines; auto detects each.")
    ] = InputFormat.AUTO,
    since: Annotated[
        datetime | None,
        typer.Option(help="Skip reports made before this date or time (UTC unless given)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only validate; produce nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Replay past reports from a file: each is minimized here and only its signal is
    produced to incident-signals. Malformed lines are reported by number and skipped."""

    boundary = settings_or_exit(config.BoundarySettings)
    policy = policy_or_exit(settings_or_exit(config.PolicySettings).file)
    producer: Producer | None = None
    kafka: config.KafkaSettings | None = None
    topic = ""
    units: frozenset[str] = frozenset()
    if not dry_run:
        kafka = settings_or_exit(config.KafkaSettings)
        broker_or_exit(kafka)
        topics = Topics(kafka.topic_prefix)
        units = _directory_units(kafka, topics.staff_directory)
        producer = Producer(producer_config(kafka))
        topic = topics.incident_signals
    vocabulary = Vocabulary.of(policy, sources=boundary.sources, directory_units=units)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    errors = Console(stderr=True)
    with (
        Progress(
            TextColumn("replay"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=errors,
            transient=True,
        ) as progress,
        broker_errors(kafka) if kafka else nullcontext(),
    ):
        task = progress.add_task("replay", total=file.stat().st_size)
        summary = replay_lines(
            file,
            boundary.key(),
            vocabulary,
            input_format=input_format,
            fhir_source_system=boundary.fhir_source_system,
            max_bytes=boundary.max_report_bytes,
            since=since,
            producer=producer,
            topic=topic,
            report=lambda text: progress.console.print(
                text, markup=False, highlight=False, soft_wrap=True
            ),
            advance=lambda size: progress.advance(task, size),
        )
    if as_json:
        typer.echo(json.dumps({"dry_run": dry_run, **summary.as_dict()}))
    else:
        _print_summary(summary, dry_run)
    if summary.failed:
        raise typer.Exit(EXIT_PARTLY)


def _directory_units(kafka: config.KafkaSettings, topic: str) -> frozenset[str]:
    try:
        entries = read_latest(kafka, topic)
    except DirectoryTopicError as exc:
        fail(str(exc), EXIT_UNAVAILABLE)
    units: set[str] = set()
    for value in entries.values():
        try:
            units.add(StaffProfile.model_validate_json(value).unit_code)
        except ValueError:
            continue
    return frozenset(units)


def _print_summary(summary: ReplaySummary, dry_run: bool) -> None:
    typer.echo(f"lines read: {summary.lines}")
    if dry_run:
        typer.echo(f"valid (dry run, nothing produced): {summary.valid}")
    else:
        typer.echo(f"signals produced: {summary.produced}")
        if summary.failed:
            typer.echo(f"not acknowledged by the broker: {summary.failed}")
    typer.echo(f"older than --since: {summary.older}")
    typer.echo(f"blank: {summary.blank}")
    typer.echo(f"malformed: {sum(summary.malformed.values())}")
    for reason, count in sorted(summary.malformed.items()):
        typer.echo(f"  {reason}: {count}")
    if summary.dropped:
        typer.echo("values dropped at the boundary (field:reason):")
        for name, count in sorted(summary.dropped.items()):
            typer.echo(f"  {name}: {count}")
