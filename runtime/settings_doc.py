"""Every environment variable the project reads, from the settings classes themselves."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from runtime.settings import registered_settings


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    description: str
    secret: bool


def variables(classes: tuple[type[BaseSettings], ...] | None = None) -> list[Variable]:
    found = []
    for cls in classes if classes is not None else registered_settings():
        prefix = str(cls.model_config.get("env_prefix", ""))
        for field_name, info in cls.model_fields.items():
            default = info.default
            shown = (
                "(required)"
                if default is PydanticUndefined
                else ("" if default is None else str(default))
            )
            secret = info.annotation is SecretStr or "SecretStr" in str(info.annotation)
            found.append(
                Variable(
                    name=f"{prefix}{field_name}".upper(),
                    default=shown,
                    description=info.description or "",
                    secret=secret,
                )
            )
    return found


def markdown_table(classes: tuple[type[BaseSettings], ...] | None = None) -> str:
    rows = ["| Variable | Default | Description |", "|---|---|---|"]
    for variable in variables(classes):
        default = (
            f"`{variable.default}`"
            if variable.default and not variable.default.startswith("(")
            else variable.default
        )
        rows.append(f"| `{variable.name}` | {default} | {variable.description} |")
    return "\n".join(rows) + "\n"


START, END = "<!-- settings-table:start -->\n", "<!-- settings-table:end -->"


def with_table(readme: str) -> str:
    """``readme`` with the text between the settings-table markers replaced."""
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}{markdown_table()}{END}{tail}"


if __name__ == "__main__":
    import sys
    from pathlib import Path

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    target.write_text(with_table(target.read_text(encoding="utf-8")), encoding="utf-8")
