"""The worker's Faust consumer: Faust's aiokafka consumer with the patches of this package,
one class each (their modules say why)."""

from __future__ import annotations

from streams.faust_fixes.eager_handover import EagerHandOver
from streams.faust_fixes.fetch_wait import FetchWait
from streams.faust_fixes.paused_fetch import PausedFetch
from streams.faust_fixes.rewind import Rewinding


class Consumer(Rewinding, PausedFetch, FetchWait, EagerHandOver):
    pass
