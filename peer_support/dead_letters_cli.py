"""``peer-support dead-letters list`` and ``peer-support dead-letters redrive TOPIC``.

Both read ``.dlq`` topics, which hold positions, reason codes and field paths only; a
re-drive also reads the source records (raw reports among them) and writes them back as
they were, without showing any of them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from connectors.deadletters.letters import DeadLetters, dlq_topics, read_dead_letters
from connectors.deadletters.naming import redrivable, source_topic, without_prefix
from connectors.deadletters.positions import Position
from connectors.deadletters.redrive import RedriveSummary, redrive
from connectors.deadletters.scan import existing_topics
from connectors.deadletters.select import select
from connectors.deadletters.source import scan_source
from connectors.deadletters.tally import DeadLetterListing, listing
from peer_support.exits import (
    EXIT_INPUT,
    EXIT_PARTLY,
    broker_errors,
    broker_or_exit,
    fail,
    kafka_or_exit,
    settings_or_exit,
)
from runtime import settings as config
from runtime.topics import Topics
from schemas import Channel, Reason

dead_letters_app = typer.Typer(
    help="Records the worker or a sink refused: count them by reason, and send them through "
    "again once the cause is fixed.",
    no_args_is_help=True,
)


@dead_letters_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Count the dead letters on every .dlq topic by reason and field path (where in the
    record the problem was), with the oldest and newest; never a key, value or payload."""
    kafka = kafka_or_exit()
    with broker_errors(kafka):
        names = dlq_topics(existing_topics(kafka), kafka.topic_prefix)
        found = read_dead_letters(kafka, names)
    result = listing(found)
    if as_json:
        typer.echo(result.model_dump_json())
    else:
        _print_listing(result)


def _print_listing(result: DeadLetterListing) -> None:
    if not result.rows and not result.unreadable:
        typer.echo("no dead letters")
        return
    header = ("topic", "reason", "field path", "count", "oldest", "newest")
    lines = [
        (
            row.topic,
            row.reason.value,
            row.field_path or "-",
            str(row.count),
            _when(row.oldest),
            _when(row.newest),
        )
        for row in result.rows
    ]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    for line in [header, *lines]:
        cells = [
            cell.rjust(width) if i == 3 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        typer.echo("  ".join(cells).rstrip())
    typer.echo(f"dead letters: {result.dead_letters}")
    for topic, count in result.unreadable.items():
        typer.echo(f"not dead letters (unreadable) on {topic}: {count}")


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@dead_letters_app.command("redrive")
def redrive_command(
    topic: Annotated[
        str,
        typer.Argument(
            metavar="TOPIC",
            help="The topic whose refused records to send again, e.g. incident-reports "
            "(PSB_KAFKA_TOPIC_PREFIX is added unless the name has it; a .dlq suffix is "
            "ignored).",
        ),
    ],
    reasons: Annotated[
        list[Reason] | None,
        typer.Option(
            "--reason",
            metavar="CODE",
            help="Only dead letters of this reason code, as `dead-letters list` shows it "
            "(repeatable).",
        ),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            help="Only dead letters recorded at or after this date or time (UTC unless given)."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Read and count what would be sent; send nothing."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Send the records a topic's dead letters point at to that topic again, from their
    recorded positions, so the worker judges them anew. A record past its topic's retention
    is counted as expired and named by position only. Each position is sent once: running
    it again sends nothing twice."""
    kafka = settings_or_exit(config.KafkaSettings)
    topics = Topics(kafka.topic_prefix)
    source = source_topic(topic, topics)
    if source is None:
        choices = ", ".join(without_prefix(name, topics) for name in redrivable(topics))
        fail(f"{topic} has no dead-letter topic; give one of: {choices}")
    broker_or_exit(kafka)
    dlq = Topics.dlq(source)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    errors = Console(stderr=True)
    with broker_errors(kafka):
        if dlq not in existing_topics(kafka):
            fail(f"topic {dlq} does not exist; `peer-support topics create` makes it", EXIT_INPUT)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=errors,
            transient=True,
        ) as progress:
            reading = progress.add_task(f"reading {dlq} and {source}", total=None)
            found: DeadLetters = read_dead_letters(kafka, [dlq])
            selection = select(found.filed, source, frozenset(reasons or ()), since)
            scan = scan_source(kafka, source, set(selection.positions))
            progress.remove_task(reading)
            task = progress.add_task(
                "dry run" if dry_run else "re-drive", total=len(selection.positions)
            )

            def expired(position: Position) -> None:
                progress.console.print(
                    f"expired (no longer on the topic): {position}", markup=False, highlight=False
                )

            summary = redrive(
                kafka,
                source,
                selection,
                scan,
                dry_run=dry_run,
                expired=expired,
                advance=lambda: progress.advance(task),
            )
    summary.unreadable = found.unreadable[dlq]
    if as_json:
        typer.echo(json.dumps({"topic": source, **summary.as_dict()}))
    else:
        _print_summary(summary, source)
    if source in {topics.notifications(channel) for channel in Channel}:
        typer.echo(
            "note: a sink does not send a notification again once its receipt says delivered "
            "or refused; only notifications it could not read are delivered anew",
            err=True,
        )
    if summary.failed:
        raise typer.Exit(EXIT_PARTLY)


def _print_summary(summary: RedriveSummary, topic: str) -> None:
    typer.echo(f"dead letters read: {summary.read}")
    if summary.dry_run:
        typer.echo(f"would be re-driven (dry run, nothing sent): {summary.redriven}")
    else:
        typer.echo(f"re-driven to {topic}: {summary.redriven}")
    typer.echo(f"already re-driven: {summary.already_redriven}")
    typer.echo(f"expired (no longer on the topic, past its retention): {summary.expired}")
    typer.echo(f"filtered out (other topic, --reason, --since): {summary.filtered}")
    if summary.failed:
        typer.echo(f"not acknowledged by the broker: {summary.failed}")
    if summary.unreadable:
        typer.echo(f"not dead letters (unreadable, skipped): {summary.unreadable}")
