"""Forgetting a person who left: a tombstone on ``staff-directory`` removes them from every
table of the worker that holds them.

* the directory view drops them itself (:class:`runtime.replicated_view.ReplicatedView`),
  and names them to this module by their staff pseudonym;
* their offers and reminders waiting in ``deliveries-pending`` are removed, with a
  tombstone in the table's changelog so a restart does not bring them back;
* the offers scheduled for them keep their ids (so a redelivered offer is still known as
  done) but lose the offer itself, which names them;
* their supporter record, if any, gets a tombstone on ``supporters``, and their count of
  recent hand-offs is deleted, so the pool forgets them too and no one is handed over to a
  colleague who is gone.

The other ledgers hold only keyed ids, which say nothing about whom they concerned, and stay
until their retention period ends, to keep delivery exactly-once.

Each part forgets through its own ledgers (``Dispatcher.forget``, ``Handoffs.forget``), which
find a person's entries by an index, so forgetting costs what the leaver had, not what
everyone has. At start-up the directory view replays the tombstones it holds
before the tables are restored: those wait in a set, and a person with nothing left costs
a few lookups.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from runtime.logging import get_logger
from streams.ports import Emit, Out, Supporters, emitter

if TYPE_CHECKING:
    from streams.context import WorkerContext

log = get_logger("forget")


class Forgets(Protocol):
    def forget(self, person: str) -> int:
        """Forget what names ``person``; returns how many entries changed."""


class Forgetting:
    """Holds back the leavers named before the tables are restored (the directory view
    replays its tombstones first), and forgets them once they are."""

    def __init__(
        self,
        parts: list[Forgets],
        supporters: Supporters,
        emit: Emit,
        recovered: asyncio.Event,
    ) -> None:
        self.parts = parts
        self.supporters = supporters
        self.emit = emit
        self.recovered = recovered
        self.held_back: set[str] = set()

    def forget(self, person: str) -> None:
        if not self.recovered.is_set():
            self.held_back.add(person)
            return
        removed = sum(part.forget(person) for part in self.parts)
        supporter = self.supporters.get(person)
        if supporter is not None:
            self.emit(Out.SUPPORTERS, supporter.staff_ref, None)
            removed += 1
        if removed:  # a replayed tombstone of someone long forgotten finds nothing
            log.info("person forgotten", count=removed)

    def forget_held_back(self) -> None:
        for person in self.held_back:
            self.forget(person)
        self.held_back.clear()


def register(ctx: WorkerContext, *parts: Forgets) -> Forgetting:
    recovered: asyncio.Event = ctx.app.tables.recovery.completed  # type: ignore[attr-defined]  # TableManager's, untyped on the interface
    forgetting = Forgetting(list(parts), ctx.supporters, emitter(ctx.topics, ctx.outbox), recovered)
    ctx.directory.on_remove(forgetting.forget)

    @ctx.app.task  # type: ignore[untyped-decorator]  # faust.App.task is untyped
    async def forget_once_recovered() -> None:
        await recovered.wait()
        forgetting.forget_held_back()
        if ctx.outbox.holds_unsent():
            await ctx.outbox.settle()

    return forgetting
