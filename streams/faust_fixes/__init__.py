"""Every change the worker makes to how Faust, mode and aiokafka work, one module per patch.

The rest of the worker takes only what this module exports: :class:`App` (Faust's app with
the patches), the :class:`Outbox` it owns, and :func:`agent_lag`. The versions the patches
were written for are pinned in ``pyproject.toml``; ``tests/unit/test_pins.py`` names each
patch and the private members it relies on, and ``tests/unit/test_no_private_imports.py``
keeps private framework names out of the rest of the code. Why Faust stays and how to
retire each patch: ``docs/adr/0001-faust-and-its-patches.md``.

* :mod:`.rewind`: a message Faust leaves unprocessed in a rebalance is read again (offers).
* :mod:`.thread_seeks`: seeks run in the consumer's thread (aiokafka is not thread-safe).
* :mod:`.paused_fetch`: a partition Faust pauses is no longer fetched, nor reported stalled.
* :mod:`.fetch_wait`: a short fetch wait while records flow, backing off at rest.
* :mod:`.eager_handover`: a fetched message reaches its stream without four tasks (throughput).
* :mod:`.lingering_batches`: a batch waits from its first record, not on a timer (idle cost).
* :mod:`.batched_producer`: outputs and changelogs as record batches, durable before the
  commit; with ``PSB_KAFKA_EMBEDDED_BROKER_QUIRKS``, the embedded broker's watermark allowed for.
* :mod:`.lag`: Faust's committed offsets for the lag metric.
* :mod:`.recovery`: tables restored from their changelogs at a small cost per record.
"""

from streams.faust_fixes.app import App
from streams.faust_fixes.batched_producer import Outbox
from streams.faust_fixes.lag import agent_lag

__all__ = ["App", "Outbox", "agent_lag"]
