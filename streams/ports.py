"""What the domain code (dispatch, hand-offs, evaluation, forgetting) uses of the worker
around it, as small protocols: a unit test passes plain fakes, and no Faust app is built.

:func:`emitter` is the worker's side of :class:`Emit`, over its batched producer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

from schemas import Notification, StaffProfile, SupporterProfile

if TYPE_CHECKING:
    from runtime.topics import Topics  # its settings import Kafka clients


class Out(StrEnum):
    """Where a record goes; a notification's topic is its channel's."""

    NOTIFICATIONS = "notifications"
    EVALUATION = "evaluation"
    SUPPORTERS = "supporters"
    ASSIGNMENTS = "supporter-assignments"
    SUPPORTER_LOAD = "supporter-load"


class Emit(Protocol):
    def __call__(
        self, out: Out, key: str, model: BaseModel | None, incident: str | None = None
    ) -> None:
        """Put a record (``None``: a tombstone) in the batch being produced; ``incident``
        goes in its headers, for the sink's logs."""


class Directory(Protocol):
    """The staff directory, by staff pseudonym; ``ready`` once it is loaded."""

    ready: asyncio.Event

    def get(self, key: str) -> StaffProfile | None: ...


class Supporters(Protocol):
    ready: asyncio.Event

    def get(self, key: str) -> SupporterProfile | None: ...

    def items(self) -> Iterable[tuple[str, SupporterProfile]]: ...


class Producer(Protocol):
    """What :func:`emitter` uses of the worker's batched producer."""

    def put(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None: ...

    def put_model(
        self, topic: str, key: str, model: BaseModel, incident: str | None = None
    ) -> None: ...


def emitter(topics: Topics, producer: Producer) -> Emit:
    """Notifications carry the trace context and incident in their headers; the figures,
    supporter tombstones and supporter load are plain records."""

    def emit(out: Out, key: str, model: BaseModel | None, incident: str | None = None) -> None:
        if out is Out.NOTIFICATIONS:
            if not isinstance(model, Notification):
                raise TypeError("a notification topic takes notifications")
            producer.put_model(topics.notifications(model.channel), key, model, incident)
            return
        topic = {
            Out.EVALUATION: topics.evaluation,
            Out.SUPPORTERS: topics.supporters,
            Out.ASSIGNMENTS: topics.supporter_assignments,
            Out.SUPPORTER_LOAD: topics.supporter_load,
        }[out]
        value = None if model is None else model.model_dump_json().encode()
        producer.put(topic, key.encode(), value)

    return emit
