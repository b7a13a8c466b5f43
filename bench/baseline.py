"""The baseline: a plain confluent-kafka consume-and-produce passthrough.

Same broker, same machine, same records as the pipeline run, so the pipeline's cost is
read as a ratio of this.
"""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, Producer

from runtime.kafka import confluent_config, producer_config
from runtime.settings import KafkaSettings


def passthrough(kafka: KafkaSettings, source: str, target: str, count: int) -> float:
    consumer = Consumer(
        confluent_config(
            kafka,
            **{
                "group.id": f"bench-baseline-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": True,
                "session.timeout.ms": kafka.session_timeout_ms,
            },
        )
    )
    producer = Producer(
        producer_config(kafka, **{"linger.ms": 5, "queue.buffering.max.messages": 1_000_000})
    )
    consumer.subscribe([source])
    seen = 0
    started: float | None = None
    while seen < count:
        messages = consumer.consume(10_000, 1.0)
        if messages and started is None:
            started = time.perf_counter()
        for message in messages:
            if message.error() is not None:
                continue
            while True:
                try:
                    producer.produce(target, message.value(), message.key())
                    break
                except BufferError:
                    producer.poll(0.01)
            seen += 1
        producer.poll(0)
    producer.flush(60)
    consumer.close()
    assert started is not None
    return count / (time.perf_counter() - started)
