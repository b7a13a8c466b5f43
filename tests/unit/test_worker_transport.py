"""The worker's Faust transport: the fetch wait it asks of the broker, and commits that do not
pass a message no agent processed."""

from __future__ import annotations

import asyncio
import time

from faust.types import TP
from faust.types.tuples import Message

from streams.consumer import STALL_S
from streams.transport import App


def _app(fetch_wait_ms: int = 1500) -> App:
    return App("transport-test", fetch_wait_ms=fetch_wait_ms, broker="kafka://localhost:1")


def test_the_worker_consumer_waits_at_most_the_configured_time_per_fetch() -> None:
    async def scenario() -> int:
        app = _app(fetch_wait_ms=7)
        thread = app.consumer._thread
        try:
            consumer = thread._create_worker_consumer(app.transport)
            wait = int(consumer._fetch_max_wait_ms)
            await consumer.stop()  # never started: closes its client, no broker needed
            return wait
        finally:
            thread.thread_loop.close()

    assert asyncio.run(scenario()) == 7  # Faust's own consumer would wait 1500 ms


def _message(offset: int, generation_id: int) -> Message:
    return Message(
        "incident-signals", 0, offset, 0.0, 0, [], None, b"{}", None, generation_id=generation_id
    )


def _acked_offsets_after(acks: list[tuple[int, int, bool]]) -> list[int]:
    """Offsets Faust may commit after acking (offset, generation, flow active) messages of
    partition 0, with the consumer in generation 2."""

    async def scenario() -> list[int]:
        app = _app()
        app.consumer_generation_id = 2
        app.topics.acks_enabled_for = lambda topic: True  # type: ignore[method-assign]
        consumer = app.consumer
        try:
            for offset, generation, flowing in acks:
                if flowing:
                    app.flow_control.resume()
                else:
                    app.flow_control.suspend()
                consumer.ack(_message(offset, generation))
            return sorted(consumer._acked[TP("incident-signals", 0)])
        finally:
            consumer._thread.thread_loop.close()

    return asyncio.run(scenario())


def test_a_processed_message_counts_towards_the_commit() -> None:
    assert _acked_offsets_after([(7, 2, True), (8, 2, True)]) == [7, 8]


def test_a_message_skipped_during_a_rebalance_does_not_count_as_processed() -> None:
    # Faust's stream skips, and acks, messages while the flow is suspended or that were
    # fetched in an earlier generation; committing past them lost offers
    assert _acked_offsets_after([(7, 2, True), (8, 2, False), (9, 1, True)]) == [7]


def _consumer_at(committed: int | None, acked: list[int]) -> tuple[App, TP]:
    app = _app()
    tp = TP("incident-signals", 0)
    consumer = app.consumer
    consumer._committed_offset[tp] = committed
    consumer._acked[tp] = list(acked)
    consumer._acked_index[tp] = set(acked)
    return app, tp


def _offset_to_commit(committed: int | None, acked: list[int]) -> int | None:
    async def scenario() -> int | None:
        app, tp = _consumer_at(committed, acked)
        try:
            offset: int | None = app.consumer._new_offset(tp)
            return offset
        finally:
            app.consumer._thread.thread_loop.close()

    return asyncio.run(scenario())


def test_commits_follow_the_processed_messages_from_the_committed_offset() -> None:
    assert _offset_to_commit(102, [102, 103, 104]) == 105
    assert _offset_to_commit(None, [0, 1]) == 2


def test_no_commit_passes_the_unprocessed_message_at_the_committed_offset() -> None:
    # the committed offset is the next message to read: while 102 is not processed,
    # 103 and 104 cannot be committed (Faust's own check allows this one message)
    assert _offset_to_commit(102, [103, 104]) is None


def test_a_partition_waiting_at_an_unprocessed_message_is_read_again_from_there_once() -> None:
    async def scenario() -> tuple[list[tuple[TP, int]], int | None]:
        app, tp = _consumer_at(93, [94, 95])
        consumer = app.consumer
        seeks: list[tuple[TP, int]] = []

        async def seek(partition: TP, offset: int) -> None:
            seeks.append((partition, offset))

        consumer.seek = seek  # type: ignore[method-assign]
        consumer.assignment = lambda: {tp}  # type: ignore[method-assign]
        try:
            assert consumer._new_offset(tp) is None
            await consumer._read_stalled_partitions_again()
            assert seeks == []  # a commit may wait a moment for the message in progress
            consumer._waiting_since[tp] = time.monotonic() - STALL_S
            await consumer._read_stalled_partitions_again()
            # read again and still not there: no message at 93 (retention), Faust decides
            return seeks, consumer._new_offset(tp)
        finally:
            consumer._thread.thread_loop.close()

    seeks, offset = asyncio.run(scenario())
    assert seeks == [(TP("incident-signals", 0), 93)]
    assert offset == 96
