"""Keeps Python's full garbage collections short once the worker is ready.

What the worker builds to start (modules, pydantic and Faust machinery: about 110,000
objects) lives as long as the process, yet every full collection scanned all of it: about
55 ms on a 2-core machine, during which no event moved, several times a minute under load.
Once the worker is ready, a last full collection frees what is garbage, and
:func:`gc.freeze` moves the rest out of the collector's view: later full collections scan
only what was made since (about 5 ms).
"""

from __future__ import annotations

import gc


def freeze_what_startup_built() -> int:
    """Returns how many objects the collector no longer scans."""
    gc.collect()  # garbage now is freed, not kept for good
    gc.freeze()
    return gc.get_freeze_count()
