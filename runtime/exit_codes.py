"""The exit codes every process ends with (the table is in :mod:`peer_support.exits`);
here so that the worker, below the command line, exits by the same table."""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_PARTLY: Final = 1
"""Done in part: some records were not acknowledged."""
EXIT_INPUT: Final = 2
"""Bad input or settings."""
EXIT_UNAVAILABLE: Final = 3
"""A service the command needs (the broker, the directory server) did not answer."""
EXIT_BUG: Final = 4
"""An unexpected error: a bug to report."""
