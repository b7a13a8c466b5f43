"""Records that cannot be used go to ``<topic>.dlq`` with their position and a reason.

Faust's default, on a record that does not decode, is to crash the agent and restart it,
logging the decoder's message (which may quote the record). :class:`DeadLetteringTopic`
replaces that: the record is already acknowledged by Faust's conductor; we write where it
was and why, and the agent goes on with the records behind it.

A dead letter goes out like every other record the worker produces, through its batched
producer: durable before the offset of the record it stands for is committed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import faust

from runtime.logging import get_logger
from runtime.topics import Topics
from schemas import DeadLetter, Reason, SourceFormat
from schemas.boundary import BoundaryError
from streams.codec import ContractDecodeError
from streams.ports import Producer

log = get_logger("dead-letters")


def dead_letter_for(
    message: Any,
    reason: Reason,
    path: str | None = None,
    detected_format: SourceFormat | None = None,
) -> DeadLetter:
    return DeadLetter(
        source_topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        reason=reason,
        field_path=path,
        detected_format=detected_format,
        recorded_at=datetime.now(UTC),
    )


def from_boundary_error(message: Any, error: BoundaryError) -> DeadLetter:
    return dead_letter_for(message, error.reason, error.path, error.detected_format)


def send_dead_letter(producer: Producer, letter: DeadLetter) -> None:
    """Without a key, as before: the producer spreads dead letters over the partitions."""
    producer.put(Topics.dlq(letter.source_topic), None, letter.model_dump_json().encode())
    log.warning(
        "record dead-lettered",
        topic=letter.source_topic,
        partition=letter.partition,
        offset=letter.offset,
        reason=letter.reason.value,
        path=letter.field_path,
    )


class DeadLetteringTopic(faust.Topic):
    async def on_key_decode_error(self, exc: Exception, message: Any) -> None:
        await self._dead_letter(exc, message)

    async def on_value_decode_error(self, exc: Exception, message: Any) -> None:
        await self._dead_letter(exc, message)

    async def _dead_letter(self, exc: Exception, message: Any) -> None:
        cause = exc.__cause__
        if isinstance(cause, ContractDecodeError):
            letter = dead_letter_for(message, cause.reason, cause.path)
        else:
            letter = dead_letter_for(message, Reason.INVALID)
        send_dead_letter(self.app.outbox, letter)  # type: ignore[attr-defined]  # the worker's App
