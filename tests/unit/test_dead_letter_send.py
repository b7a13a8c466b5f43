"""A record that does not decode goes to its dead-letter topic through the worker's batched
producer, like every other record the worker writes: where it was and why, never its
content."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import faust

from schemas import DeadLetter, Reason
from streams.codec import ContractDecodeError
from streams.dead_letters import DeadLetteringTopic


class Producer:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None]] = []

    def put(self, topic: str, key: bytes | None, value: bytes | None, *_: Any) -> None:
        self.records.append((topic, key, value))


def test_an_undecodable_record_is_put_in_the_batch_with_its_place_and_reason() -> None:
    app = faust.App("dead-letter-test", broker="kafka://localhost:1", store="memory://")
    app.outbox = Producer()  # type: ignore[attr-defined]  # the worker's App has one
    topic = DeadLetteringTopic(app, topics=["psb.support-offers"])
    message = SimpleNamespace(topic="psb.support-offers", partition=2, offset=41)
    error = ValueError("secret content of the record")
    error.__cause__ = ContractDecodeError(Reason.INVALID, "offer_id")

    asyncio.run(topic.on_value_decode_error(error, message))

    [(dlq, key, value)] = app.outbox.records  # type: ignore[attr-defined]
    assert (dlq, key) == ("psb.support-offers.dlq", None)
    assert value is not None and b"secret" not in value
    letter = DeadLetter.model_validate_json(value)
    assert (letter.partition, letter.offset, letter.reason, letter.field_path) == (
        2,
        41,
        Reason.INVALID,
        "offer_id",
    )
