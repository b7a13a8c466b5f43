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
"""

from __future__ import annotations

from runtime.logging import get_logger
from streams.agents.dispatch import FORGOTTEN, Dispatcher
from streams.agents.handoff import Handoffs
from streams.context import WorkerContext
from streams.ledger import Ledger
from streams.schedule import Schedule

log = get_logger("forget")


def forget_pending(schedule: Schedule, person: str) -> int:
    """Remove every waiting offer and reminder of the person; returns how many."""
    entries = schedule.for_person(person)
    for pending in entries:
        schedule.remove(pending.offer.offer_id)
    return len(entries)


def forget_scheduled(scheduled: Ledger, person: str) -> int:
    """Blank the scheduled offers that name the person; returns how many."""
    names = f'"person":"{person}"'
    theirs = [key for key, value in scheduled.items() if names in value]
    for offer_id in theirs:
        scheduled.replace(offer_id, FORGOTTEN)
    return len(theirs)


def register(ctx: WorkerContext, dispatcher: Dispatcher, handoffs: Handoffs) -> None:
    schedule = dispatcher.schedule
    recovered = ctx.app.tables.recovery.completed  # type: ignore[attr-defined]  # TableManager's, untyped on the interface
    held_back: list[str] = []

    def forget(person: str) -> None:
        if not recovered.is_set():  # the view replays tombstones before the tables are back
            held_back.append(person)
            return
        removed = forget_pending(schedule, person)
        removed += forget_scheduled(dispatcher.scheduled, person)
        handoffs.load.remove(person)
        supporter = ctx.supporters.get(person)
        if supporter is not None:
            ctx.outbox.put(ctx.topics.supporters, supporter.staff_ref.encode(), None)
        log.info("person forgotten", count=removed)

    ctx.directory.on_remove(forget)

    @ctx.app.task  # type: ignore[untyped-decorator]  # faust.App.task is untyped
    async def forget_once_recovered() -> None:
        await recovered.wait()
        for person in held_back:
            forget(person)
        held_back.clear()
        if ctx.outbox.holds_unsent():
            await ctx.outbox.settle()
