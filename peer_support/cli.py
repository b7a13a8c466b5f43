"""``peer-support``: minimize a report, run the worker or the embedded broker, the demo."""

from __future__ import annotations

import inspect
import signal
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from typer.core import TyperGroup, TyperOption

from peer_support import answers_cli, report_cli
from peer_support.dead_letters_cli import dead_letters_app
from peer_support.directory_cli import directory_app
from peer_support.exits import (
    EXIT_INPUT,
    EXIT_UNAVAILABLE,
    fail,
    report_bug,
    settings_or_exit,
)
from peer_support.ingest_cli import ingest_command
from peer_support.policies import policy_or_exit
from peer_support.policy_cli import policy_app
from peer_support.replay import replay_command
from peer_support.sink_cli import sink as sink_command
from peer_support.topics_cli import topics_app
from runtime import settings as config
from runtime.broker import BrokerError, DemoExtraMissing, EmbeddedBroker, PortInUse
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
from schemas.boundary.conformance import StrictExtraMissing, check_conformance
from schemas.codes import SourceFormat, is_identifier

PANELS: Final[dict[str, tuple[str, ...]]] = {
    "Run": ("worker", "ingest", "sink", "answers", "broker", "demo"),
    "Data": ("directory", "replay", "minimize", "pseudonym"),
    "Policy": ("policy",),
    "Operations": ("topics", "dead-letters", "settings", "report"),
}
"""The top-level help's panels, and the order of commands in them."""

NAMES_NO_ONE: Final = (
    "note: the report names no staff member by a usable reference, so it offers support to "
    "no one (a FHIR recorder, participant or contributor needs a reference to a Practitioner "
    "or PractitionerRole, not only a display; a native report needs staff[].staff_ref)"
)

_ORDER: Final = [name for names in PANELS.values() for name in names]


class _InPanelOrder(TyperGroup):
    """Lists commands in the order of :data:`PANELS`; typer lists a group's commands after
    its sub-apps, whatever the panel."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda name: _ORDER.index(name) if name in _ORDER else len(_ORDER))


app = typer.Typer(
    name="peer-support",
    cls=_InPanelOrder,
    help="Incident reports in, peer-support offers out; nothing of the patient in between.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _show_version(shown: bool) -> None:
    if shown:
        try:
            number = version("peer-support-bridge")
        except PackageNotFoundError:  # a source tree that was never installed
            number = "unknown"
        typer.echo(f"peer-support {number}")
        raise typer.Exit()


@app.callback()
def _options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the installed version and exit.",
        ),
    ] = False,
) -> None:
    pass  # the app's own help text stands; typer would show a docstring here in its place


app.add_typer(topics_app, name="topics")
app.add_typer(dead_letters_app, name="dead-letters")
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
    """Print the IncidentSignal of one report, or exit 2 naming the field path and the reason
    it cannot be accepted (input values are never echoed). Codes cross as the policy
    (PSB_POLICY_FILE) and PSB_SOURCE_SYSTEMS declare them; units of the staff directory are
    not known here. Each value dropped is named on stderr by field and reason."""
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
    except (BoundaryError, StrictExtraMissing) as exc:
        fail(str(exc))
    for drop in projection.dropped:
        typer.echo(f"dropped {drop.field.value}: {drop.reason.value}", err=True)
    if not projection.signal.staff:
        typer.echo(NAMES_NO_ONE, err=True)
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


@app.command("worker")
def worker() -> None:
    """Run the stream worker: it minimizes reports, makes offers and dispatches them. A
    policy file that cannot be read or is invalid ends it with exit code 2 and one log line
    naming each problem."""
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


@app.command("broker")
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
        except (PortInUse, DemoExtraMissing) as exc:
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


@app.command("settings")
def settings_command() -> None:
    """Print every environment variable the bridge reads, as a Markdown table."""
    from runtime.settings_doc import markdown_table

    typer.echo(markdown_table(), nl=False)


@app.command("demo")
def demo() -> None:
    """Run the whole pipeline on the embedded broker with sample data, then exit."""
    from peer_support.demo import run_demo

    raise typer.Exit(run_demo())


app.command("sink")(sink_command)


def _one_line_paragraphs(text: str) -> str:
    """typer's rich help keeps a docstring's line breaks in the list of commands and in
    every paragraph after the first, which cuts sentences where the source wrapped them."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def _arrange(typer_app: typer.Typer, top: bool = False) -> None:
    """Reflow every help text and put each top-level command in its panel, in one place
    rather than at each command (several modules define them)."""
    info = typer_app.info
    if isinstance(info.help, str):
        info.help = _one_line_paragraphs(info.help)
    for command in typer_app.registered_commands:
        text = command.help or inspect.getdoc(command.callback) or ""
        command.help = _one_line_paragraphs(text)
        if top:
            command.rich_help_panel = _panel_of(command.name)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _arrange(group.typer_instance)
        if top:
            group.rich_help_panel = _panel_of(group.name)


def _panel_of(name: str | None) -> str | None:
    return next((panel for panel, names in PANELS.items() if name in names), None)


def _flags_without_a_type() -> None:
    """typer 0.29's rich help shows a flag with the type column of an option that takes a
    value (``--dry-run <bool>``), though its plain help does not; a flag takes no value."""
    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_arrange(app, top=True)
_flags_without_a_type()


def main() -> None:
    try:
        app()
    except Exception as exc:  # not one of the failures a command names itself: a bug
        report_bug(exc)
