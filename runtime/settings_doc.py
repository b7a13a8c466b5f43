"""Every environment variable the project reads, from the settings classes themselves.

The one module of ``runtime`` that loads the layers above it: a settings class registers
itself when its module is imported, so documenting them all means importing every module.
It does so by name, at call time; nothing in ``runtime`` imports this module.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

from pydantic import SecretStr
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from runtime.settings import OUR_PACKAGES, registered


def registered_settings() -> tuple[type[BaseSettings], ...]:
    """Every settings class in our packages, wherever declared."""
    for package_name in OUR_PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    return registered()


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


INTRO = """\
# Settings

Every setting is an environment variable; `peer-support settings` prints the same table from
the code. A secret can also be a file in `PSB_SECRETS_DIR`, one per variable, named like the
variable in lower case (e.g. `psb_pseudonym_key`). In the Helm chart, plain settings go into
a `config` map and secret ones into `secretEnv` or `secretFiles`
([deploy.md](deploy.md#3-write-a-values-file)).

The rows are grouped by component, as the code declares them. This page is written by
`make docs` from the settings classes; a test fails when it is out of date.
"""


def page() -> str:
    """The whole settings page, so that ``make docs`` and the test that it is current agree."""
    return f"{INTRO}\n{markdown_table()}"


if __name__ == "__main__":
    import sys
    from pathlib import Path

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/settings.md")
    target.write_text(page(), encoding="utf-8")
