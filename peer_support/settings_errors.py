"""Settings errors as one readable line each, without the values (which may be secrets)."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_settings import BaseSettings


def describe(exc: ValidationError, settings: type[BaseSettings]) -> list[str]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    lines = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        if not error["loc"]:  # a rule across settings: our own validator's message, no value
            lines.append(f"{prefix}*: {error['msg'].removeprefix('Value error, ')}")
            continue
        field = ".".join(str(part) for part in error["loc"])
        variable = f"{prefix}{field}".upper()
        if error["type"] == "missing":
            lines.append(f"{variable} is not set")
        else:
            lines.append(f"{variable} is not valid ({error['type']})")
    return lines
