"""Forgetting a person who left: a tombstone on ``staff-directory`` removes them from every
table of the worker that holds them.

* the directory view drops them itself (:class:`streams.views.ReplicatedView`);
* their offers and reminders waiting in ``deliveries-pending`` are removed, with a
  tombstone in the table's changelog so a restart does not bring them back;
* the offers scheduled for them keep their ids (so a redelivered offer is still known as
  done) but lose the offer itself, which names them;
* their supporter record, if any, gets a tombstone on ``supporters``, and their count of
  recent hand-offs is deleted, so the pool forgets them too and no one is handed over to a
  colleague who is gone.

The other ledgers hold only derived opaque ids, which say nothing about whom they concerned,
and stay to keep delivery exactly-once.
"""

from __future__ import annotations

from runtime.logging import get_logger
from streams.agents.dispatch import Dispatcher
from streams.agents.handoff import Handoffs
from streams.context import WorkerContext
from streams.ledger import Ledger
from streams.schedule import Schedule

log = get_logger("forget")


def forget_pending(schedule: Schedule, staff_ref: str) -> int:
    """Remove every waiting offer and reminder of the person; returns how many."""
    entries = schedule.for_staff(staff_ref)
    for pending in entries:
        schedule.remove(pending.offer.offer_id, pending.partition)
    return len(entries)


FORGOTTEN = "forgotten"


def forget_scheduled(scheduled: Ledger, staff_ref: str, partitions: int) -> int:
    """Blank the scheduled offers that name the person; returns how many."""
    names = f'"staff_ref":"{staff_ref}"'
    theirs = [key for key, value in scheduled.items() if names in value]
    for offer_id in theirs:
        scheduled.overwrite_everywhere(offer_id, FORGOTTEN, partitions)
    return len(theirs)


def register(ctx: WorkerContext, dispatcher: Dispatcher, handoffs: Handoffs) -> None:
    schedule = dispatcher.schedule
    partitions = ctx.kafka.partitions

    def forget(staff_ref: str) -> None:
        removed = forget_pending(schedule, staff_ref)
        removed += forget_scheduled(dispatcher.scheduled, staff_ref, partitions)
        if handoffs.load.get(staff_ref) is not None:
            handoffs.load.overwrite_everywhere(staff_ref, None, partitions)
        if staff_ref in ctx.supporters:
            ctx.outbox.put(ctx.topics.supporters, staff_ref.encode(), None)
        log.info("person forgotten", count=removed)

    ctx.directory.on_remove(forget)
