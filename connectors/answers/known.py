"""What the answers endpoint must know to honour a click: which offers exist (and whose
they are), and which answers were already recorded.

Both are read from the topics themselves (``support-offers`` and ``support-responses``),
from the beginning and then tailed, without a consumer group, so every replica of the
endpoint knows every answer, including those recorded before it started. This is what makes
a second click, or a click on another replica a minute later, record nothing new. (Two
replicas racing within milliseconds could both record one answer; the worker therefore also
handles each offer's answer once, keyed by offer id.)
"""

from __future__ import annotations

import asyncio
import threading

from pydantic import ValidationError

from runtime import topic_reader
from runtime.logging import get_logger
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import SupportOffer, SupportResponse
from schemas.response import Answer

log = get_logger("answers")


class KnownAnswers:
    def __init__(self) -> None:
        self.offers: dict[str, str] = {}  # offer id -> the person (staff pseudonym)
        self.answered: set[tuple[str, Answer]] = set()
        self.ready = asyncio.Event()

    def owner(self, offer_id: str) -> str | None:
        return self.offers.get(offer_id)

    def is_recorded(self, offer_id: str, answer: Answer) -> bool:
        return (offer_id, answer) in self.answered

    def record(self, response: SupportResponse) -> None:
        self.answered.add((response.offer_id, response.answer))

    def apply(self, topic: str, value: bytes | None, topics: Topics) -> None:
        if value is None:
            return
        try:
            if topic == topics.support_offers:
                offer = SupportOffer.model_validate_json(value)
                self.offers[offer.offer_id] = offer.person
            else:
                self.record(SupportResponse.model_validate_json(value))
        except ValidationError:
            log.warning("invalid record skipped", topic=topic)

    async def follow(self, kafka: KafkaSettings) -> None:
        """Read both topics from the beginning, set ``ready`` once caught up, keep tailing
        (in a thread: the reader blocks) until cancelled."""
        topics = Topics(kafka.topic_prefix)
        names = (topics.support_offers, topics.support_responses)
        loop = asyncio.get_running_loop()
        stop = threading.Event()

        def caught_up() -> None:
            loop.call_soon_threadsafe(self.ready.set)
            log.info("answers known", count=len(self.answered))

        def read() -> None:
            for message in topic_reader.follow(kafka, names, stop, caught_up):
                self.apply(message.topic() or "", message.value(), topics)

        try:
            await asyncio.to_thread(read)
        finally:
            stop.set()
