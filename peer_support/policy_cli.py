"""``peer-support policy check`` and ``peer-support policy simulate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from connectors.directory.load import FileFormatError, Kind, validate_file
from peer_support.exits import EXIT_INPUT, fail
from peer_support.simulate import render, simulate
from schemas import StaffProfile
from schemas.policy import Policy, PolicyError, load_policy
from schemas.policy.model import format_duration

policy_app = typer.Typer(help="Check and try out a policy file.", no_args_is_help=True)


def load_or_exit(file: Path) -> Policy:
    """The policy, or exit 2 with one line per problem: its line and key, never the file's
    content (a file that is not UTF-8 is named, not quoted)."""
    try:
        return load_policy(file)
    except PolicyError as exc:
        for problem in exc.problems:
            typer.echo(problem.render(exc.source), err=True)
        if len(exc.problems) > 1:
            typer.echo(f"{len(exc.problems)} problem(s); the policy was not accepted", err=True)
        raise typer.Exit(EXIT_INPUT) from None


@policy_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="The policy YAML file.")]) -> None:
    """Validate a policy: exit 0 with a summary, or exit 2 listing every problem."""
    policy = load_or_exit(file)
    roles = [name for name in ("reporter", "involved", "witness") if getattr(policy.roles, name)]
    reminder = policy.timing.reminder
    typer.echo(f"policy {policy.version} is valid (owner: {policy.owner})")
    typer.echo(f"  offered to: {', '.join(roles)}")
    typer.echo(
        f"  minimum severity: {policy.triggers.minimum_severity.value}; "
        f"near misses: {'yes' if policy.triggers.near_misses else 'no'}"
    )
    quiet = policy.timing.quiet_hours
    typer.echo(
        f"  delay {format_duration(policy.timing.delay)}; quiet hours "
        + (f"{quiet.start:%H:%M}-{quiet.end:%H:%M}" if quiet else "none")
        + f" ({policy.timing.timezone}); reminder "
        + (f"after {format_duration(reminder.after)}" if reminder.enabled else "off")
    )
    for scheme in policy.schemes:
        serves = (
            "everyone else" if scheme.default else ", ".join(p.value for p in scheme.professions)
        )
        typer.echo(f"  scheme {scheme.id}: {serves}")


@policy_app.command("simulate")
def simulate_command(
    file: Annotated[Path, typer.Argument(help="The policy YAML file.")],
    reports: Annotated[Path, typer.Option(help="Past reports, one JSON document per line.")],
    directory: Annotated[
        Path | None,
        typer.Option(
            help="Staff directory: a .csv or .ndjson file, as directory load reads it. Without "
            "it, everyone a report names counts as known and no notifications are simulated.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Dry run: what the policy would have sent for past reports. Sends nothing and prints
    counts and codes only. Refused directory rows are listed as directory load lists them,
    and the people on them count as unknown staff; exit 2 when any row was refused."""
    policy = load_or_exit(file)
    profiles = None
    refused = 0
    if directory is not None:
        try:
            validated = validate_file(directory, Kind.STAFF)
        except OSError as exc:
            fail(f"cannot read {directory}: {exc.strerror}")
        except FileFormatError as exc:
            fail(f"{directory}: {exc}")
        for line in validated.error_lines():
            typer.echo(line, err=True)
        refused = validated.refused
        profiles = {
            ref: entry
            for ref, entry in validated.entries.items()
            if isinstance(entry, StaffProfile)
        }
    try:
        with reports.open("rb") as lines:
            result = simulate(policy, lines, profiles)
    except OSError as exc:
        fail(f"cannot read {reports}: {exc.strerror}")
    if as_json:
        typer.echo(json.dumps({"policy_version": policy.version, **result.as_dict()}, indent=2))
    else:
        typer.echo(f"policy {policy.version}: dry run over {reports.name}")
        typer.echo(render(result, with_directory=profiles is not None))
    if refused:
        fail(
            f"{refused} row(s) of {directory} refused (listed above); the people on them "
            "counted as unknown staff"
        )
