"""``peer-support``: minimize a report, run the worker or the embedded broker, the demo."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from peer_support import answers_cli, report_cli
from peer_support.directory_cli import directory_app
from peer_support.exits import (
    EXIT_INPUT,
    EXIT_UNAVAILABLE,
    broker_errors,
    broker_or_exit,
    fail,
    report_bug,
    settings_or_exit,
)
from peer_support.ingest_cli import ingest_command
from peer_support.policies import policy_or_exit
from peer_support.policy_cli import policy_app
from peer_support.replay import replay_command
from peer_support.sink_cli import sink as sink_command
from runtime import settings as config
from runtime.broker import BrokerError, EmbeddedBroker, PortInUse
from runtime.clock import utc_now
from schemas.boundary import (
    BoundaryError,
    InputFormat,
    Vocabulary,
    detect_format,
    load_document,
    project,
    pseudonymize_staff,
)
from schemas.boundary.conformance import check_conformance
from schemas.codes import SourceFormat, is_identifier

app = typer.Typer(
    name="peer-support",
    help="Incident reports in, peer-support offers out; nothing of the patient in between.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
topics_app = typer.Typer(help="Kafka topics of the bridge.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(policy_app, name="policy")
app.command("ingest")(ingest_command)
app.command("replay")(replay_command)
app.add_typer(directory_app, name="directory")
app.command("answers")(answers_cli.answers)
app.command("report")(report_cli.report)


@app.command("minimize")
def minimize_command(
    file: Annotated[
        Path | None, typer.Argument(help="Report file; standard input when absent.")
    ] = None,
    input_format: Annotated[
        InputFormat, typer.Option("--format", help="Input format; auto detects it.")
    ] = InputFormat.AUTO,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Also validate a FHIR resource in full against the official R4B/R5 model.",
        ),
    ] = False,
) -> None:
    """Print the IncidentSignal of one report (exit 2 with the field path and reason if the
    report cannot be accepted; input values are never echoed). Codes cross as the policy
    (PSB_POLICY_FILE) and PSB_SOURCE_SYSTEMS declare them; units of the staff directory are
    not known here. What was dropped is named on stderr by field and reason."""
    boundary = settings_or_exit(config.BoundarySettings)
    policy = policy_or_exit(settings_or_exit(config.PolicySettings).file)
    try:
        raw = file.read_bytes() if file is not None else sys.stdin.buffer.read()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    try:
        if strict:
            document = load_document(raw, max_bytes=boundary.max_report_bytes)
            fmt = (
                detect_format(document)
                if input_format is InputFormat.AUTO
                else SourceFormat(input_format.value)
            )
            check_conformance(document, fmt)
        projection = project(
            raw,
            boundary.key(),
            Vocabulary.of(policy, sources=boundary.sources),
            input_format=input_format,
            fhir_source_system=boundary.fhir_source_system,
            received_at=utc_now(),
            max_bytes=boundary.max_report_bytes,
        )
    except BoundaryError as exc:
        fail(str(exc))
    for drop in projection.dropped:
        typer.echo(f"dropped {drop.field.value}: {drop.reason.value}", err=True)
    typer.echo(projection.signal.model_dump_json(indent=2))


@app.command("pseudonym")
def pseudonym_command(
    staff_ref: Annotated[
        str, typer.Argument(help="The staff reference, as the staff directory holds it.")
    ],
) -> None:
    """Print the keyed pseudonym of one staff member: what topics, tables and messages call
    them, to follow one person (say, who asks what is kept about them) without showing
    anyone else. Needs the installation's PSB_PSEUDONYM_KEY."""
    if not is_identifier(staff_ref):
        fail(
            "a staff reference is one token (letters, digits and . _ : @ / + -), as in the "
            "staff directory"
        )
    boundary = settings_or_exit(config.BoundarySettings)
    typer.echo(pseudonymize_staff(boundary.key(), staff_ref))


@app.command()
def worker() -> None:
    """Run the stream worker (agents minimize, offers, dispatch). A policy file that cannot
    be read or is invalid ends it with exit code 2 and one log line naming each problem."""
    from runtime.logging import configure, get_logger
    from schemas.policy import PolicyError
    from streams.app import create_app
    from streams.evaluation.settings import EvaluationSettings
    from streams.worker import run_worker

    logs = settings_or_exit(config.LogSettings)
    configure(logs.level)
    worker_settings = settings_or_exit(config.WorkerSettings)
    try:
        ctx = create_app(
            settings_or_exit(config.KafkaSettings),
            settings_or_exit(config.BoundarySettings),
            worker_settings,
            settings_or_exit(config.PolicySettings),
            enabled_channels=worker_settings.enabled_channels,
            evaluation=settings_or_exit(EvaluationSettings),
        )
    except PolicyError as exc:
        get_logger("worker").error(
            "policy refused, the worker does not start",
            problems=[problem.render(exc.source) for problem in exc.problems],
        )
        raise typer.Exit(EXIT_INPUT) from None
    run_worker(ctx)


@app.command()
def broker(
    port: Annotated[int, typer.Option(help="Loopback port; a free one when 0.")] = 9092,
) -> None:
    """Run the embedded Kafka-protocol broker (Tansu, memory storage) until SIGTERM or
    Ctrl-C, which stop Tansu too; exit 3 if Tansu ends by itself."""
    signals: list[int] = []  # from the start: a signal while Tansu starts stops it too
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, _frame: signals.append(number))
    running = EmbeddedBroker(port=port or None)
    try:
        try:
            running.start()
        except PortInUse as exc:
            fail(str(exc))
        except BrokerError as exc:
            fail(f"the embedded broker did not start: {exc}", EXIT_UNAVAILABLE)
        pid = running.pid
        typer.echo(f"broker ready at {running.bootstrap} (pid {pid}); Ctrl-C stops it")
        code = running.watch(lambda: bool(signals))
    finally:
        running.stop()
    if code is not None:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        fail(f"the embedded broker (tansu, pid {pid}) {how}", EXIT_UNAVAILABLE)
    typer.echo("broker stopped")


@topics_app.command("create")
def topics_create() -> None:
    """Create every topic of the bridge that does not exist yet, and give every topic the
    retention and cleanup policy it should have (also topics that exist already)."""
    from runtime.topics import Topics, apply_topic_settings, ensure_topics

    kafka = settings_or_exit(config.KafkaSettings)
    specs = Topics.of(kafka).specs()
    broker_or_exit(kafka)
    with broker_errors(kafka):
        created = ensure_topics(kafka, specs)
        typer.echo(f"{created} topics created")
        changed = apply_topic_settings(kafka, specs)
        typer.echo(f"{changed} topics' settings changed")


@app.command("settings")
def settings_command() -> None:
    """Print every environment variable the bridge reads, as a Markdown table."""
    from runtime.settings_doc import markdown_table

    typer.echo(markdown_table(), nl=False)


@app.command()
def demo() -> None:
    """Run the whole pipeline on the embedded broker with sample data, then exit."""
    from peer_support.demo import run_demo

    raise typer.Exit(run_demo())


app.command("sink")(sink_command)


def main() -> None:
    try:
        app()
    except Exception as exc:  # not one of the failures a command names itself: a bug
        report_bug(exc)
