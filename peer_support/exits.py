"""How every ``peer-support`` command ends on bad input: one line on stderr and an exit code,
never a traceback that might quote what was read."""

from __future__ import annotations

from typing import NoReturn, TypeVar

import typer
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from peer_support import settings_errors
from runtime import settings as config

SettingsT = TypeVar("SettingsT", bound=BaseSettings)

EXIT_INPUT = 2
"""Bad input or settings."""
EXIT_UNAVAILABLE = 3
"""A service the command needs (the broker, the directory server) did not answer."""


def fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit(cls: type[SettingsT]) -> SettingsT:
    try:
        return config.load(cls)
    except ValidationError as exc:
        fail("; ".join(settings_errors.describe(exc, cls)))
