"""Plain fakes of what the domain code uses of the worker (:mod:`streams.ports`): no Faust
app, no broker. A ledger's table is a dict with a changelog list."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from schemas import Channel, StaffProfile, SupporterProfile
from schemas.policy import Policy, default_policy
from streams.agents.dispatch import SCHEDULED, Dispatcher
from streams.agents.handoff import Handoffs
from streams.agents.load import SupporterLoad
from streams.evaluation.figures import Figures
from streams.evaluation.recorder import OfferRecord, Recorder
from streams.ledger import TEXT, Codec, Json, Ledger, V
from streams.metrics import WorkerMetrics
from streams.ports import Out
from streams.schedule import PENDING, Schedule
from tests.unit.helpers import KEY


class Table:
    """What a ledger uses of a Faust table (its data, its recovery hook) and of the outbox
    (changelog writes)."""

    def __init__(self, name: str = "table") -> None:
        self.name = name
        self.data: dict[str, str] = {}
        self.changelog: list[tuple[int, str, Any]] = []
        self._recovered: list[Callable[[], Coroutine[Any, Any, None]]] = []

    def put_changelog(self, table: Any, partition: int, key: str, value: str | None) -> None:
        assert table is self
        self.changelog.append((partition, key, value))

    def on_recover(self, callback: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._recovered.append(callback)

    def recovered(self) -> None:
        """What Faust does once it restored the table from its changelog."""
        for callback in self._recovered:
            asyncio.run(callback())


def ledger(codec: Codec[V], name: str = "table") -> Ledger[V]:
    table = Table(name)
    return Ledger(table, table, codec)


class Emitted(list[tuple[Out, str, BaseModel | None, str | None]]):
    """Every record emitted, in order."""

    def __call__(
        self, out: Out, key: str, model: BaseModel | None, incident: str | None = None
    ) -> None:
        self.append((out, key, model, incident))


class People:
    """The directory, or the supporters view: a dict, loaded."""

    def __init__(self, people: dict[str, Any] | None = None) -> None:
        self.people = people or {}
        self.ready = asyncio.Event()
        self.ready.set()

    def get(self, key: str) -> Any:
        return self.people.get(key)

    def items(self) -> list[tuple[str, Any]]:
        return list(self.people.items())


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def dispatcher(
    *,
    people: dict[str, StaffProfile] | None = None,
    now: datetime,
    policy: Policy | None = None,
    schedule: Schedule | None = None,
    scheduled: Ledger[Any] | None = None,
    owned: frozenset[int] = frozenset(range(8)),
    evaluation: Recorder | None = None,
    emitted: Emitted | None = None,
) -> Dispatcher:
    chosen = policy or default_policy()
    return Dispatcher(
        schedule=schedule or Schedule(ledger(PENDING, "pending"), lambda: owned),
        sent=ledger(TEXT, "sent"),
        scheduled=scheduled or ledger(SCHEDULED, "scheduled"),
        requested=ledger(TEXT, "requested"),
        emit=Emitted() if emitted is None else emitted,
        directory=People(people),
        key=KEY,
        enabled_channels=frozenset(Channel),
        policy=lambda: chosen,
        clock=Clock(now),
        metrics=WorkerMetrics(),
        evaluation=evaluation,
    )


def recorder(
    *, people: dict[str, StaffProfile], policy: Policy, emitted: Emitted | None = None
) -> Recorder:
    return Recorder(
        offers=ledger(Json(OfferRecord), "evaluation-offers"),
        people=ledger(TEXT, "evaluation-people"),
        cells=ledger(Json(Figures), "evaluation-cells"),
        emit=Emitted() if emitted is None else emitted,
        directory=People(people),
        key=KEY,
        policy=lambda: policy,
        metrics=WorkerMetrics(),
    )


def handoffs(
    *,
    people: dict[str, StaffProfile],
    supporters: dict[str, SupporterProfile],
    now: datetime,
    policy: Policy,
    emitted: Emitted | None = None,
    load: dict[str, SupporterLoad] | None = None,
) -> Handoffs:
    return Handoffs(
        made=ledger(TEXT, "handoffs-made"),
        load=People(load),
        emit=Emitted() if emitted is None else emitted,
        directory=People(people),
        supporters=People(supporters),
        key=KEY,
        enabled_channels=frozenset(Channel),
        policy=lambda: policy,
        clock=Clock(now),
        metrics=WorkerMetrics(),
    )
