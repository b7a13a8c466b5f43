"""``peer-support directory load`` and ``peer-support directory sync-ldap``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from connectors.directory.load import (
    FileFormatError,
    Kind,
    LoadResult,
    Validated,
    load,
    removals,
    validate_file,
)
from connectors.directory.topic import DirectoryTopicError
from peer_support.exits import (
    EXIT_INPUT,
    EXIT_UNAVAILABLE,
    broker_errors,
    fail,
    kafka_or_exit,
    settings_or_exit,
)
from peer_support.policies import policy_or_exit
from runtime import settings as config
from runtime.topics import Topics

directory_app = typer.Typer(
    help="The staff directory and the supporter pool: load a file, sync from LDAP.",
    no_args_is_help=True,
)


@directory_app.command("load")
def load_command(
    file: Annotated[Path, typer.Argument(help="A .csv or .ndjson file, one person a row.")],
    supporters: Annotated[
        bool,
        typer.Option(
            "--supporters",
            help="The file lists peer supporters; each scheme must be one of the policy "
            "(PSB_POLICY_FILE, or the built-in default policy).",
        ),
    ] = False,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="The file is the whole truth: everyone on the topic who is not in it gets a "
            "tombstone (only when every row is valid). Says how many were removed.",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Only validate; write nothing. With --replace, also read the topic and say "
            "how many would be removed (this needs the broker).",
        ),
    ] = False,
) -> None:
    """Validate every row and write the valid ones to the staff-directory (or supporters)
    topic, keyed by staff reference. Every problem of a refused row is listed by line
    number, field and rule, never the row's content; exit 2 when any row was refused."""
    kind = Kind.SUPPORTERS if supporters else Kind.STAFF
    schemes = None
    if kind is Kind.SUPPORTERS:
        policy = policy_or_exit(settings_or_exit(config.PolicySettings).file)
        schemes = frozenset(scheme.id for scheme in policy.schemes)
    try:
        validated = validate_file(file, kind, schemes)
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    except FileFormatError as exc:
        fail(str(exc))
    for line in validated.error_lines():
        typer.echo(line, err=True)
    blocker = validated.replace_blocker() if replace else None
    if dry_run:
        typer.echo(f"{validated.summary()}; dry run, nothing written")
        if blocker is not None:
            typer.echo(f"replace would be skipped: no one would be removed because {blocker}")
        elif replace:
            kafka = kafka_or_exit()
            with _topic_errors(kafka):
                gone = removals(validated, kind, kafka)
            typer.echo(f"{len(gone)} not in the file would be removed (tombstoned)")
    else:
        kafka = kafka_or_exit()
        topic = kind.topic(Topics(kafka.topic_prefix))
        result = _write(validated, kind, kafka, replace)
        typer.echo(f"{validated.summary()}; {result.written} written to {topic}")
        if blocker is not None:
            typer.echo(f"replace skipped: no one was removed because {blocker}")
        elif replace:
            typer.echo(f"{result.removed} not in the file removed (tombstoned)")
    if validated.errors:
        raise typer.Exit(EXIT_INPUT)


@contextmanager
def _topic_errors(kafka: config.KafkaSettings) -> Iterator[None]:
    """A topic that cannot be read or written ends the command in one line."""
    with broker_errors(kafka):
        try:
            yield
        except DirectoryTopicError as exc:
            fail(str(exc), EXIT_UNAVAILABLE)


def _write(
    validated: Validated, kind: Kind, kafka: config.KafkaSettings, replace: bool
) -> LoadResult:
    with (
        typer.progressbar(length=len(validated.entries), label="writing", file=sys.stderr) as bar,
        _topic_errors(kafka),
    ):
        return load(validated, kind, kafka, replace=replace, progress=bar.update)


@directory_app.command("sync-ldap")
def sync_ldap_command(
    once: Annotated[
        bool, typer.Option("--once", help="Sync once and exit (for a CronJob).")
    ] = False,
) -> None:
    """Sync the staff directory from LDAP / Active Directory (PSB_LDAP_* settings) now and
    then every PSB_LDAP_INTERVAL_S: only changes are written, and people who are gone get a
    tombstone. With --once, exit 3 when the sync failed."""
    from connectors.directory.ldap_settings import LdapSettings
    from connectors.directory.ldap_sync import LdapSync, log
    from runtime.logging import configure

    configure(settings_or_exit(config.LogSettings).level)
    ldap = settings_or_exit(LdapSettings)
    if ldap.missing():
        fail(" and ".join(f"{name} is not set" for name in ldap.missing()))
    kafka = kafka_or_exit(log)
    sync = LdapSync(ldap, kafka)
    for outcome in sync.run(once=once):
        if isinstance(outcome, Exception):
            if once:
                raise typer.Exit(EXIT_UNAVAILABLE)
            continue
        typer.echo(
            f"ldap sync: {outcome.created} new, {outcome.updated} changed, "
            f"{outcome.removed} removed, {outcome.unchanged} unchanged, "
            f"{sum(outcome.skipped.values())} skipped"
        )
