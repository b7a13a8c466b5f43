"""Agent ``supporter-load``: how many people each supporter was handed recently, counted in
one place per supporter, whichever worker made the hand-offs.

A hand-off puts an :class:`Assignment` on ``supporter-assignments``, keyed by the
supporter's pseudonym, so all of one supporter's assignments reach the one partition (and
worker) that owns them. There a ledger keyed by supporter keeps their recent hand-offs
(deduplicated by a keyed id of the offer, so a replayed assignment counts once), and each
change is published on the compacted ``supporter-load`` topic, keyed by supporter. Every
worker reads that topic whole (:class:`runtime.replicated_view.ReplicatedView`) to choose
the least-loaded supporter.

Eventually consistent: a hand-off made on another worker counts here once its load record
came back through both topics (a second or two); a worker's own hand-offs count at once
(:class:`streams.agents.handoff.Handoffs` keeps them until the view shows them). A
supporter's entry goes when their last hand-off is :data:`OPEN_FOR` old, and when they
leave (a tombstone on ``supporter-load``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from runtime.logging import get_logger
from schemas import SupporterProfile
from streams import owner
from streams.ledger import Json, Ledger
from streams.ports import Emit, Out, Supporters, emitter

if TYPE_CHECKING:
    from runtime.replicated_view import ReplicatedView  # imports Kafka clients
    from streams.context import WorkerContext

log = get_logger("load")

OPEN_FOR: Final = timedelta(days=14)
"""How long a hand-off counts against a supporter's capacity (no closing event exists)."""


class Assignment(BaseModel):
    """A hand-off made to ``supporter``; ``handoff`` is a keyed id of the offer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    supporter: str
    handoff: str
    at: AwareDatetime


class SupporterLoad(BaseModel):
    """A supporter's hand-offs of the last :data:`OPEN_FOR`, by keyed id (no person named)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    supporter: str
    handed: dict[str, AwareDatetime] = {}

    def recent(self, now: datetime) -> dict[str, AwareDatetime]:
        return {handoff: at for handoff, at in self.handed.items() if at > now - OPEN_FOR}


class LoadView(Protocol):
    """Every supporter's load, as published (a replicated view of ``supporter-load``)."""

    ready: asyncio.Event

    def get(self, key: str) -> SupporterLoad | None: ...

    def items(self) -> Iterable[tuple[str, SupporterLoad]]: ...


class Loads:
    """The owner's side: keeps the load of the supporters of its partitions."""

    def __init__(self, *, recent: Ledger[SupporterLoad], emit: Emit) -> None:
        self.recent = recent
        self.emit = emit

    def assigned(self, assignment: Assignment, now: datetime) -> bool:
        """Count ``assignment``; whether it changed the supporter's load."""
        known = self.recent.get(assignment.supporter)
        handed = {} if known is None else known.recent(now)
        if assignment.handoff in handed or assignment.at <= now - OPEN_FOR:
            return False
        handed[assignment.handoff] = assignment.at
        load = SupporterLoad(supporter=assignment.supporter, handed=handed)
        self.recent.put(assignment.supporter, load, max(handed.values()) + OPEN_FOR)
        self.emit(Out.SUPPORTER_LOAD, assignment.supporter, load)
        return True

    def expired(self, supporter: str, _load: SupporterLoad) -> None:
        self.emit(Out.SUPPORTER_LOAD, supporter, None)

    def forget(self, person: str) -> int:
        """A leaver who was a supporter: their load goes here, and from every worker's view
        (the tombstone)."""
        if not self.recent.remove(person):
            return 0
        self.emit(Out.SUPPORTER_LOAD, person, None)
        return 1


class Pool:
    """The supporters as hand-offs see them: ready once the supporters and their load are
    both read, so a start-up does not take everyone for free."""

    def __init__(self, supporters: Supporters, load: LoadView) -> None:
        self._supporters = supporters
        self.load = load
        self.ready = asyncio.Event()

    def get(self, key: str) -> SupporterProfile | None:
        return self._supporters.get(key)

    def items(self) -> Iterable[tuple[str, SupporterProfile]]:
        return self._supporters.items()

    async def run(self) -> None:
        await self._supporters.ready.wait()
        await self.load.ready.wait()
        self.ready.set()


def parse(raw: bytes | None) -> Assignment | None:
    if raw is None:
        return None
    try:
        return Assignment.model_validate_json(raw)
    except ValidationError:
        return None


def register(ctx: WorkerContext) -> tuple[Loads, Pool]:
    from runtime.replicated_view import ReplicatedView

    emit = emitter(ctx.topics, ctx.outbox)
    view: ReplicatedView[SupporterLoad] = ReplicatedView(
        ctx.topics.supporter_load, SupporterLoad, ctx.kafka
    )
    ctx.views.append(view)
    loads = Loads(recent=ctx.ledger("supporter-recent", Json(SupporterLoad)), emit=emit)
    loads.recent.on_expire.append(loads.expired)
    pool = Pool(ctx.supporters, view)
    clock: Callable[[], datetime] = ctx.clock
    assignments = ctx.app.topic(
        ctx.topics.supporter_assignments,
        key_type=bytes,
        value_type=bytes,
        value_serializer="raw",
    )

    @ctx.app.agent(assignments, name="supporter-load")
    async def supporter_load(stream: Any) -> None:
        async for events in stream.take_events(ctx.worker.batch_size, within=ctx.batch_wait_s):
            for event in events:
                assignment = parse(event.value)
                if assignment is None:
                    log.warning("invalid assignment skipped")
                    continue
                with owner.owned_by(event.message.partition):
                    loads.assigned(assignment, clock())
            await ctx.outbox.flush()

    @ctx.app.task  # type: ignore[untyped-decorator]  # faust.App.task is untyped
    async def keep_supporter_load() -> None:
        await view.run()

    @ctx.app.task  # type: ignore[untyped-decorator]
    async def pool_ready() -> None:
        await pool.run()

    return loads, pool
