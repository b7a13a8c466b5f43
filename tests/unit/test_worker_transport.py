"""The worker's Faust transport: the fetch wait it asks of the broker (short while records
come, longer at rest), Faust's recovery check off only on the embedded broker, what its consumer
reads again (a window after every assignment, a partition whose commit waits), and the
outbox settling before Faust commits offsets."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.drivers import aiokafka as driver
from faust.types import TP

from streams.faust_fixes import App
from streams.faust_fixes.eager_handover import HandOver
from streams.faust_fixes.fetch_wait import LONGEST_WAIT_MS, QUIET_S, BackingOffWait
from streams.faust_fixes.rewind import STALL_S, ReadOffsets


def _app(fetch_wait_ms: int = 1500, *, quirks: bool = False) -> App:
    return App(
        "transport-test",
        fetch_wait_ms=fetch_wait_ms,
        embedded_broker_quirks=quirks,
        broker="kafka://localhost:1",
    )


@pytest.mark.parametrize("quirks", [False, True])
def test_faust_checks_recovery_consistency_unless_on_the_embedded_broker(quirks: bool) -> None:
    # the embedded broker's watermark can miss the last batch's records; Kafka's does not
    app = _app(quirks=quirks)
    try:
        assert app.conf.recovery_consistency_check is not quirks
    finally:
        app.consumer._thread.thread_loop.close()


def test_the_fetch_wait_is_short_while_records_come_and_backs_off_at_rest() -> None:
    # the embedded broker holds an empty fetch for the whole wait: a short one keeps each
    # hop quick under load, a long one lets an idle worker sleep
    now = [0.0]

    class Fetcher:
        _fetch_max_wait_ms = 1500  # Faust's

        def __init__(self) -> None:
            self.asked: list[int] = []

        async def _proc_fetch_request(self, assignment: Any, node_id: Any, request: Any) -> bool:
            self.asked.append(self._fetch_max_wait_ms)
            now[0] += self._fetch_max_wait_ms / 1000
            return bool(request)  # the request stands for "records came back"

    async def scenario() -> list[int]:
        fetcher = Fetcher()
        fetch = BackingOffWait(fetcher, shortest_ms=20, clock=lambda: now[0])
        answers = [True] + [False] * 60 + [True, False]
        for records in answers:
            assert await fetch(None, 0, records) is records
        return fetcher.asked

    asked = asyncio.run(scenario())
    quiet = QUIET_S * 1000 // 20  # empty fetches before the wait grows
    assert asked[: int(quiet) + 1] == [20] * (int(quiet) + 1)
    assert asked[int(quiet) + 1 : int(quiet) + 8] == [40, 80, 160, 320, 640, 1280, 1500]
    assert asked[-3:] == [1500, 1500, 20]  # records: short at once


def test_the_worker_consumer_backs_its_fetch_wait_off_from_the_configured_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fetcher = SimpleNamespace(_fetch_max_wait_ms=1500, _proc_fetch_request=None)

    async def started(thread: Any) -> None:  # aiokafka's start, which builds the fetcher
        thread._consumer = SimpleNamespace(_fetcher=fetcher)

    monkeypatch.setattr(driver.AIOKafkaConsumerThread, "on_start", started)

    async def scenario() -> None:
        app = _app(fetch_wait_ms=7)
        thread = app.consumer._thread
        try:
            await thread.on_start()
        finally:
            thread.thread_loop.close()

    asyncio.run(scenario())
    assert fetcher._fetch_max_wait_ms == 7
    assert isinstance(fetcher._proc_fetch_request, BackingOffWait)
    assert fetcher._proc_fetch_request.longest_ms == LONGEST_WAIT_MS


class _ConsumerThread:
    """Runs what it is handed on a thread of its own, as Faust's consumer thread does."""

    def __init__(self) -> None:
        self.seeks: list[tuple[TP, int, int]] = []

    def seek(self, partition: TP, offset: int) -> None:  # aiokafka's seek, thread-unsafe
        self.seeks.append((partition, offset, threading.get_ident()))

    async def call_thread(self, fun: Callable[[], Awaitable[None]]) -> None:
        thread = threading.Thread(target=lambda: asyncio.run(fun()))
        thread.start()
        thread.join()


def test_seeks_run_in_the_consumer_thread_not_the_worker_thread() -> None:
    # a seek drops the partition's fetched records; from the worker's thread it raced the
    # consumer thread handing them out and crashed a worker mid-rebalance
    async def scenario() -> list[tuple[TP, int, int]]:
        consumer = App("transport-test", broker="kafka://localhost:1").consumer
        faust_thread, consumer._thread = consumer._thread, _ConsumerThread()
        try:
            await consumer.seek(TP("incident-reports", 0), 150)
            return consumer._thread.seeks
        finally:
            faust_thread.thread_loop.close()

    [(partition, offset, thread)] = asyncio.run(scenario())
    assert (partition, offset) == (TP("incident-reports", 0), 150)
    assert thread != threading.get_ident()


class _Fetching:
    """Stands in for aiokafka's consumer: what it fetches, and which thread told it."""

    def __init__(self, assigned: set[TP]) -> None:
        self.assigned = assigned
        self.paused: set[TP] = set()
        self.threads: set[int] = set()

    def assignment(self) -> set[TP]:
        return self.assigned

    def pause(self, *tps: TP) -> None:
        self.paused.update(tps)
        self.threads.add(threading.get_ident())

    def resume(self, *tps: TP) -> None:
        self.paused.difference_update(tps)
        self.threads.add(threading.get_ident())


def test_partitions_faust_pauses_are_no_longer_fetched() -> None:
    # Faust paused partitions in its own books only: aiokafka went on fetching every
    # table's changelog in every request, which slowed each hop of the pipeline
    consumer = _app().consumer
    source, changelog = TP("incident-reports", 0), TP("transport-test-offers-made-changelog", 0)
    fetching = _Fetching({source, changelog})
    thread = consumer._thread
    thread._consumer = fetching
    loop = thread.thread_loop
    runner = threading.Thread(target=loop.run_forever)
    runner.start()
    try:
        consumer.pause_partitions({source, changelog, TP("incident-reports", 1)})  # 1: revoked
        consumer.resume_partitions({source})
        told = threading.Event()
        loop.call_soon_threadsafe(told.set)
        assert told.wait(5)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join()
        loop.close()
    assert fetching.paused == {changelog}
    assert fetching.threads == {runner.ident}  # aiokafka is not thread-safe


def _tasks_started_by(step: Callable[[Any], Awaitable[None]]) -> int:
    """Tasks started while ``step`` runs with a worker consumer of the running loop."""
    started = 0

    def counting(loop: asyncio.AbstractEventLoop, coro: Any) -> asyncio.Task[Any]:
        nonlocal started
        started += 1
        return asyncio.Task(coro, loop=loop)

    async def scenario() -> None:
        consumer = _app().consumer
        loop = asyncio.get_running_loop()
        loop.set_task_factory(counting)
        try:
            await step(consumer)
        finally:
            loop.set_task_factory(None)
            consumer._thread.thread_loop.close()

    asyncio.run(scenario())
    return started


def test_a_fetched_message_reaches_its_stream_without_a_task_of_its_own() -> None:
    # Faust raced every message's hand-over against a suspended flow with four tasks: an
    # eighth of a busy worker's event loop
    handed_over: list[str] = []

    async def hand_over() -> None:
        handed_over.append("message")

    async def fetch_loop_step(consumer: Any) -> None:
        await consumer.wait_first(HandOver(hand_over()), consumer.suspend_flow.wait())

    assert _tasks_started_by(fetch_loop_step) == 0
    assert handed_over == ["message"]


def test_a_rebalance_gets_in_between_two_messages_handed_over() -> None:
    # handing up to a hundred fetched messages over without turning the loop kept a
    # rebalance's callbacks waiting behind them, and the failover test lost offers
    ran: list[str] = []

    async def hand_over() -> None:
        ran.append("message")

    async def fetch_loop_step(consumer: Any) -> None:
        asyncio.get_running_loop().call_soon(ran.append, "rebalance callback")
        await consumer.wait_first(HandOver(hand_over()), consumer.suspend_flow.wait())
        ran.append("next message")

    _tasks_started_by(fetch_loop_step)
    assert ran == ["message", "rebalance callback", "next message"]


def test_changelog_records_restored_at_start_are_handed_over_without_a_turn_each() -> None:
    # they go to the tables' recovery, never to an agent; a turn each doubled the time a
    # restart took to restore five years of history
    ran: list[str] = []

    async def hand_over() -> None:
        ran.append("record")

    async def scenario() -> None:
        app = _app()
        app.Table("offers-made")
        consumer = app.consumer
        try:
            asyncio.get_running_loop().call_soon(ran.append, "rebalance callback")
            for topic in ("transport-test-offers-made-changelog", "incident-reports"):
                await consumer.wait_first(
                    HandOver(hand_over(), topic), consumer.suspend_flow.wait()
                )
                ran.append(f"after {topic.split('-')[0]}")
        finally:
            consumer._thread.thread_loop.close()

    asyncio.run(scenario())
    assert ran == ["record", "after transport", "record", "rebalance callback", "after incident"]


def test_a_hand_over_that_has_to_wait_still_gives_way_to_a_suspended_flow() -> None:
    # during a rebalance Faust suspends the flow; a hand-over stuck waiting must not hold
    # up the fetch loop, as with Faust's own race
    stopped_waiting: list[bool] = []

    async def hand_over_stuck() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped_waiting.append(True)

    async def fetch_loop_step(consumer: Any) -> None:
        asyncio.get_running_loop().call_later(0.05, consumer.suspend_flow.set)
        results = await asyncio.wait_for(
            consumer.wait_first(HandOver(hand_over_stuck()), consumer.suspend_flow.wait()), 5
        )
        assert not results.stopped
        await asyncio.sleep(0)  # the losing hand-over's cancellation runs

    assert _tasks_started_by(fetch_loop_step) > 0
    assert stopped_waiting == [True]


def test_the_consumer_hands_each_message_over_through_the_task_free_path() -> None:
    consumer = _app().consumer
    try:
        hand_over = consumer.callback(object())
        assert isinstance(hand_over, HandOver)
        hand_over.coro.close()  # not run: Faust's on_message needs a subscribed stream
    finally:
        consumer._thread.thread_loop.close()


def test_after_an_assignment_each_agent_partition_is_read_again_from_before_its_commit() -> None:
    # Faust's consumer can commit past unprocessed messages during a rebalance; reading a
    # window again before the committed offset processes them (the ledgers drop repeats)
    async def scenario() -> tuple[list[tuple[TP, int]], dict[TP, int | None]]:
        app = App("transport-test", broker="kafka://localhost:1", rewind_records=100)
        consumer = app.consumer
        reports, early, fresh = (TP("incident-reports", n) for n in range(3))
        changelog = TP("transport-test-offers-made-changelog", 0)
        faust_thread, consumer._thread = consumer._thread, _ConsumerThread()
        consumer.assignment = lambda: {reports, early, fresh, changelog}  # type: ignore[method-assign]
        app.topics.acks_enabled_for = lambda topic: topic == "incident-reports"  # type: ignore[method-assign]
        consumer._committed_offset.update({reports: 250, early: 40, changelog: 900})
        try:
            await consumer.rewind()
            seeks = [(partition, offset) for partition, offset, _ in consumer._thread.seeks]
            return seeks, {tp: consumer._read_offset[tp] for tp in (reports, early)}
        finally:
            faust_thread.thread_loop.close()

    seeks, read_offsets = asyncio.run(scenario())
    # nothing committed on partition 2 yet, and a changelog is recovered whole anyway
    assert seeks == [(TP("incident-reports", 0), 150), (TP("incident-reports", 1), 0)]
    # Faust drops a record below its read offset: it must follow the seek
    assert read_offsets == {TP("incident-reports", 0): 150, TP("incident-reports", 1): None}


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


def test_a_partition_waiting_at_an_unprocessed_message_is_read_again_from_there() -> None:
    async def scenario() -> list[tuple[TP, int]]:
        app, tp = _consumer_at(93, [94, 95])
        consumer = app.consumer
        seeks: list[tuple[TP, int]] = []

        async def seek(partition: TP, offset: int) -> None:
            seeks.append((partition, offset))

        consumer._seek = seek  # type: ignore[method-assign]
        consumer.assignment = lambda: {tp}  # type: ignore[method-assign]
        try:
            assert consumer._new_offset(tp) is None
            await consumer._read_stalled_partitions_again()
            assert seeks == []  # a commit may wait a moment for the message in progress
            consumer._waiting_since[tp] = time.monotonic() - STALL_S
            await consumer._read_stalled_partitions_again()
            assert _yields(consumer._read_offset, tp, 93)  # Faust reads from 93 on
            return seeks
        finally:
            consumer._thread.thread_loop.close()

    assert asyncio.run(scenario()) == [(TP("incident-signals", 0), 93)]


def _yields(offsets: ReadOffsets, tp: TP, offset: int) -> bool:
    """Faust's test in ``_drain_messages``: a record below the read offset is dropped."""
    read = offsets[tp]
    return read is None or offset >= read


def test_records_fetched_before_a_re_read_do_not_make_faust_drop_it() -> None:
    # 93 was never processed, 94..99 were: records fetched before the seek (past 93) and
    # the re-read's own arrive interleaved, and none of the re-read may be dropped
    offsets = ReadOffsets()
    tp = TP("incident-signals", 0)
    offsets[tp] = 99
    offsets.hold(tp, 93, 94, 99)
    offsets[tp] = 98  # fetched before the seek, handled after it
    assert _yields(offsets, tp, 93)
    for offset in (93, 94):  # the re-read
        offsets[tp] = offset
    offsets[tp] = 99  # another record fetched before the seek
    assert _yields(offsets, tp, 95)  # the rest of the re-read still goes through
    assert offsets[tp] is None  # so Faust takes no jump in offsets for a gap
    assert tp not in offsets.empty


def test_the_hold_ends_once_the_commit_passes_what_was_processed_before_the_re_read() -> None:
    async def scenario() -> tuple[int | None, int | None]:
        app, tp = _consumer_at(93, [94, 95, 96])
        consumer = app.consumer
        consumer._read_offset.hold(tp, 93, 94, 96)
        for offset in (97, 93, 94):
            consumer._read_offset[tp] = offset
        try:
            consumer._acked[tp] = [93, 94, 95, 96]
            consumer._acked_index[tp] = {93, 94, 95, 96}
            assert consumer._new_offset(tp) == 97
            during = consumer._read_offset[tp]
            consumer._committed_offset[tp] = 97
            consumer._new_offset(tp)
            return during, consumer._read_offset[tp]
        finally:
            consumer._thread.thread_loop.close()

    # held until the commit is past 96; then the highest offset read, so repeats drop again
    assert asyncio.run(scenario()) == (None, 97)


def test_an_offset_the_re_read_finds_empty_is_committed_past() -> None:
    # a transaction marker takes an offset but is never delivered: the re-read starts at
    # the next record, and the commit passes the marker instead of waiting for ever
    async def scenario() -> int | None:
        app, tp = _consumer_at(93, [94, 95])
        consumer = app.consumer
        try:
            assert consumer._new_offset(tp) is None
            consumer._read_offset.hold(tp, 93, 94, 95)
            consumer._read_offset[tp] = 94  # the re-read's first record
            offset: int | None = consumer._new_offset(tp)
            return offset
        finally:
            consumer._thread.thread_loop.close()

    assert asyncio.run(scenario()) == 96


def test_the_producer_settles_the_outbox_before_faust_commits() -> None:
    settled: list[str] = []

    class Outbox:
        async def settle(self) -> None:
            settled.append("settled")

    async def scenario() -> None:
        app = _app()
        app.outbox = Outbox()  # type: ignore[assignment]
        await app.producer.flush()  # what Faust calls before committing offsets

    asyncio.run(scenario())
    assert settled == ["settled"]


def test_a_record_past_the_read_offset_does_not_count_the_offsets_between_as_processed() -> None:
    # after a seek Faust's read offset is stale: a record fetched before it (300) arrives
    # while 94..299 are unprocessed, and Faust would commit past them as empty
    async def scenario() -> int | None:
        app, tp = _consumer_at(93, [300])
        consumer = app.consumer
        try:
            await consumer._add_gap(tp, 94, 300)
            offset: int | None = consumer._new_offset(tp)
            return offset
        finally:
            consumer._thread.thread_loop.close()

    assert asyncio.run(scenario()) is None
