"""Moves the clock of a process the tests start, without anything in the product for it.

Python imports ``sitecustomize`` at start-up; a test puts this directory on the worker's
``PYTHONPATH`` and names a file in ``PSB_TEST_CLOCK_FILE``. Before any module of ours is
imported, :func:`runtime.clock.utc_now` (the one place our code reads the time) is replaced
by one that adds the number of seconds the file holds. Faust, aiokafka and the broker keep
real time; only what the policy and the tables decide moves.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import runtime.clock

_real_now = runtime.clock.utc_now
_file = Path(os.environ["PSB_TEST_CLOCK_FILE"])


def _moved_now() -> datetime:
    try:
        offset = float(_file.read_text() or 0)
    except (OSError, ValueError):
        offset = 0.0
    return _real_now() + timedelta(seconds=offset)


runtime.clock.utc_now = _moved_now
