"""``peer-support directory load`` and ``peer-support directory sync-ldap``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from connectors.directory.load import (
    FileFormatError,
    Kind,
    LoadResult,
    Validated,
    load,
    validate_file,
)
from connectors.directory.topic import DirectoryTopicError
from peer_support.exits import (
    EXIT_INPUT,
    EXIT_UNAVAILABLE,
    broker_errors,
    broker_or_exit,
    fail,
    settings_or_exit,
)
from runtime import settings as config
from runtime.topics import Topics

directory_app = typer.Typer(
    help="The staff directory and the supporter pool: load a file, sync from LDAP.",
    no_args_is_help=True,
)

MAX_ERRORS_SHOWN = 200


@directory_app.command("load")
def load_command(
    file: Annotated[Path, typer.Argument(help="A .csv or .ndjson file, one person a row.")],
    supporters: Annotated[
        bool, typer.Option("--supporters", help="The file lists peer supporters.")
    ] = False,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="The file is the whole truth: everyone on the topic who is not in it gets a "
            "tombstone (only when every row is valid).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only validate; write nothing.")
    ] = False,
) -> None:
    """Validate every row and write the valid ones to the staff-directory (or supporters)
    topic, keyed by staff reference. Refused rows are listed by line number with the field
    and the rule, never their content; exit 2 when any row was refused."""
    kind = Kind.SUPPORTERS if supporters else Kind.STAFF
    try:
        validated = validate_file(file, kind)
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    except FileFormatError as exc:
        fail(str(exc))
    for error in validated.errors[:MAX_ERRORS_SHOWN]:
        typer.echo(str(error), err=True)
    if len(validated.errors) > MAX_ERRORS_SHOWN:
        typer.echo(f"... and {len(validated.errors) - MAX_ERRORS_SHOWN} more", err=True)
    summary = (
        f"{validated.lines} rows read: {len(validated.entries)} valid, "
        f"{len(validated.errors)} refused"
    )
    if dry_run:
        typer.echo(f"{summary}; dry run, nothing written")
    else:
        kafka = settings_or_exit(config.KafkaSettings)
        topic = kind.topic(Topics(kafka.topic_prefix))
        broker_or_exit(kafka)
        result = _write(validated, kind, kafka, replace)
        typer.echo(f"{summary}; {result.written} written to {topic}")
        if replace:
            typer.echo(
                "replace skipped: no one was removed because "
                + ("some rows were refused" if validated.errors else "the file lists no one")
                if result.replace_skipped
                else f"{result.removed} not in the file removed (tombstoned)"
            )
    if validated.errors:
        raise typer.Exit(EXIT_INPUT)


def _write(
    validated: Validated, kind: Kind, kafka: config.KafkaSettings, replace: bool
) -> LoadResult:
    with (
        typer.progressbar(length=len(validated.entries), label="writing", file=sys.stderr) as bar,
        broker_errors(kafka),
    ):
        try:
            return load(validated, kind, kafka, replace=replace, progress=bar.update)
        except DirectoryTopicError as exc:
            fail(str(exc), EXIT_UNAVAILABLE)


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
    kafka = settings_or_exit(config.KafkaSettings)
    broker_or_exit(kafka, log)
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
