"""The worker's outbox: what reaches the broker, in which order, and what a failure does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import faust
import pytest
from aiokafka.errors import KafkaTimeoutError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.faust_fixes import Outbox
from streams.faust_fixes import batched_producer as outbox_module
from tests.support.outbox_broker import App, Batch, Broker, OneBatchInFlightBroker


@pytest.fixture
def table() -> Any:
    app = faust.App("outbox-test", broker="kafka://localhost:1", store="memory://")
    return app.Table("ledger", default=None, key_type=str, value_type=str)


def test_outputs_are_acknowledged_before_any_changelog_is_sent(table: Any) -> None:
    broker = Broker()
    box = Outbox(App(broker))
    box.put_changelog(table, 1, "off_1", "done")
    box.put("psb.notifications.email", b"ntf_1", b"{}")
    asyncio.run(box.settle())  # what Faust's commit awaits
    assert [topic for topic, _, _ in broker.log] == [
        "psb.notifications.email",
        "outbox-test-ledger-changelog",
    ]
    assert len(box) == 0


def test_a_table_key_written_twice_in_one_batch_is_sent_once_with_its_last_value(
    table: Any,
) -> None:
    broker = Broker()
    box = Outbox(App(broker))
    box.put_changelog(table, 2, "off_1", "offer")
    box.put_changelog(table, 2, "off_2", "offer")
    box.put_changelog(table, 2, "off_1", "reminder")
    box.put_changelog(table, 2, "off_2", None)
    asyncio.run(box.settle())  # what Faust's commit awaits
    assert {partition for _, partition, _ in broker.log} == {2}
    assert [record for _, _, batch in broker.log for record in batch] == [
        (b'"off_1"', b'"reminder"'),
        (b'"off_2"', None),
    ]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=st.text(min_size=1), value=st.text())
def test_changelog_records_are_serialised_as_fausts_own_changelog_would(
    table: Any, key: str, value: str
) -> None:
    broker = Broker()
    box = Outbox(App(broker))
    box.put_changelog(table, 0, key, value)
    asyncio.run(box.settle())  # what Faust's commit awaits
    faust_key, _ = table.changelog_topic.prepare_key(key, table.key_serializer)
    faust_value, _ = table.changelog_topic.prepare_value(value, table.value_serializer)
    assert broker.log[0][0] == table.changelog_topic.get_topic_name()
    assert broker.log[0][2] == [(faust_key, faust_value)]


def test_keyed_outputs_keep_their_order_and_land_where_the_key_says(table: Any) -> None:
    broker = Broker(capacity=4)  # several batches per partition
    box = Outbox(App(broker))
    for number in range(30):
        box.put("psb.support-offers", f"emp-{number % 3}".encode(), str(number).encode())
    asyncio.run(box.flush())
    by_key: dict[bytes | None, list[tuple[int, bytes | None]]] = {}
    for _, partition, records in broker.log:
        for key, value in records:
            by_key.setdefault(key, []).append((partition, value))
    for sent in by_key.values():
        assert len({partition for partition, _ in sent}) == 1  # a key stays in one partition
        assert [int(value or b"") for _, value in sent] == sorted(
            int(value or b"") for _, value in sent
        )


def test_a_broker_that_does_not_acknowledge_delays_the_batch_and_loses_nothing(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_module, "RETRY_FIRST_S", 0.001)
    broker = Broker(failures=2)
    box = Outbox(App(broker))
    box.put("psb.notifications.sms", b"ntf_1", b"{}")
    asyncio.run(box.flush())
    assert [records for _, _, records in broker.log] == [[(b"ntf_1", b"{}")]]


class SlowBroker(Broker):
    """Acknowledges each batch a little later, as a real broker does (only the topics
    ``slow`` picks; the others at once)."""

    def __init__(self, delay: float = 0.02, slow: Callable[[str], bool] = lambda _: True) -> None:
        super().__init__()
        self.delay = delay
        self.slow = slow

    async def send_batch(self, batch: Batch, topic: str, *, partition: int) -> Any:
        if not self.slow(topic):
            return await super().send_batch(batch, topic, partition=partition)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def acknowledge() -> None:
            self.log.append((topic, partition, batch.records))
            future.set_result(None)

        loop.call_later(self.delay, acknowledge)
        return future


def test_a_flush_whose_records_another_flush_took_returns_only_once_they_are_durable() -> None:
    async def scenario() -> list[list[tuple[bytes | None, bytes | None]]]:
        broker = SlowBroker()
        box = Outbox(App(broker))
        box.put("psb.incident-signals", b"inc_1", b"1")
        timer = asyncio.create_task(box.flush())  # e.g. the timer, taking the agent's record
        await asyncio.sleep(0)
        await box.flush()  # the agent's own flush
        acknowledged = [records for _, _, records in broker.log]
        await timer
        return acknowledged

    assert asyncio.run(scenario()) == [[(b"inc_1", b"1")]]


def test_records_put_while_a_flush_waits_go_out_together_in_the_next() -> None:
    async def scenario() -> Broker:
        broker = SlowBroker()
        box = Outbox(App(broker))
        box.put("psb.incident-signals", b"inc_1", b"1")
        first = asyncio.create_task(box.flush())
        await asyncio.sleep(0)
        box.put("psb.incident-signals", b"inc_2", b"2")
        box.put("psb.incident-signals", b"inc_2", b"3")
        await asyncio.gather(first, box.flush(), box.flush())
        return broker

    broker = asyncio.run(scenario())
    assert [records for _, _, records in broker.log] == [
        [(b"inc_1", b"1")],
        [(b"inc_2", b"2"), (b"inc_2", b"3")],  # one batch: both waiting flushes share it
    ]


def test_a_changelog_the_broker_refused_is_sent_again_before_offsets_are_committed(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_module, "RETRY_FIRST_S", 0.001)

    class RefusesOneChangelog(Broker):
        refused = False

        async def send_batch(self, batch: Batch, topic: str, *, partition: int) -> Any:
            if topic.endswith("-changelog") and not self.refused:
                self.refused = True  # this one, and only this one
                future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                future.set_exception(KafkaTimeoutError())
                return future
            return await super().send_batch(batch, topic, partition=partition)

    async def scenario() -> list[str]:
        broker = RefusesOneChangelog()
        box = Outbox(App(broker))
        box.put_changelog(table, 0, "off_1", "done")
        box.put("psb.support-offers", b"emp-1", b"{}")
        await box.flush()  # the agent goes on: its outputs are durable
        before = [topic for topic, _, _ in broker.log]
        await box.settle()  # what Faust's commit waits for
        return [*before, "|", *(topic for topic, _, _ in broker.log)]

    assert asyncio.run(scenario()) == [
        "psb.support-offers",
        "|",
        "psb.support-offers",
        "outbox-test-ledger-changelog",
    ]


def test_records_a_flush_could_not_send_are_kept_and_go_out_before_the_commit(
    table: Any,
) -> None:
    class Stopped(Exception):
        """Faust's producer is not running (it raises its NotReady)."""

    broker = Broker()
    running = False

    class Producer:
        def _ensure_producer(self) -> Broker:
            if not running:
                raise Stopped
            return broker

    app = App(broker)
    app.producer = Producer()  # type: ignore[assignment]

    async def scenario() -> None:
        nonlocal running
        box = Outbox(app)
        box.put_changelog(table, 0, "off_1", "offer")
        box.put("psb.support-offers", b"emp-1", b"1")
        with pytest.raises(Stopped):
            await box.flush()
        box.put_changelog(table, 0, "off_1", "reminder")  # written after the failure
        box.put("psb.support-offers", b"emp-1", b"2")
        running = True
        await box.settle()  # what Faust's commit waits for
        assert len(box) == 0

    asyncio.run(scenario())
    assert [(topic, records) for topic, _, records in broker.log] == [
        ("psb.support-offers", [(b"emp-1", b"1"), (b"emp-1", b"2")]),
        ("outbox-test-ledger-changelog", [(b'"off_1"', b'"reminder"')]),
    ]


def test_work_goes_out_with_the_batch_and_ledgers_only_at_the_commit_after_it(
    table: Any,
) -> None:
    app = faust.App("outbox-test", broker="kafka://localhost:1", store="memory://")
    pending = app.Table("pending", default=None, key_type=str, value_type=str)
    broker = Broker()
    box = Outbox(App(broker))
    box.work_table(pending)

    async def scenario() -> list[list[str]]:
        box.put_changelog(table, 0, "off_1", "scheduled")  # a ledger: "this was done"
        box.put_changelog(pending, 0, "off_1", "waiting")  # the work itself
        box.put("psb.notifications.email", b"ntf_1", b"{}")
        await box.flush()
        after_batch = [topic for topic, _, _ in broker.log]
        await box.settle()
        return [after_batch, [topic for topic, _, _ in broker.log]]

    assert asyncio.run(scenario()) == [
        ["psb.notifications.email", "outbox-test-pending-changelog"],
        [
            "psb.notifications.email",
            "outbox-test-pending-changelog",
            "outbox-test-ledger-changelog",
        ],
    ]


def test_the_ledgers_of_many_batches_go_out_together_at_the_commit(table: Any) -> None:
    # one batch per changelog partition instead of one round trip per agent batch: a commit
    # that took a round trip per batch held up every hop for most of a second
    broker = Broker()
    box = Outbox(App(broker))

    async def scenario() -> None:
        for number in range(5):
            box.put_changelog(table, 0, "off_1", f"reminder {number}")
            box.put_changelog(table, 1, f"off_{number}", "sent")
            await box.flush()
        await box.settle()

    asyncio.run(scenario())
    batches = {
        partition: [batch for _, number, batch in broker.log if number == partition]
        for partition in (0, 1)
    }
    assert batches[0] == [[(b'"off_1"', b'"reminder 4"')]]
    assert len(batches[1]) == 1
    assert [record for batch in batches[1] for record in batch] == [
        (f'"off_{number}"'.encode(), b'"sent"') for number in range(5)
    ]


@pytest.mark.parametrize(("quirks", "batches"), [(True, [2, 1]), (False, [3])])
def test_on_the_embedded_broker_the_last_changelog_record_of_a_partition_goes_alone(
    table: Any, quirks: bool, batches: list[int]
) -> None:
    # Faust restores a table up to the broker's high watermark, which the embedded broker
    # reports as the last batch's first offset + 1: the rest of that batch was never
    # restored, and a restarted worker repeated the hand-offs its ledger had forgotten.
    # Kafka counts every record: one batch, one round trip
    broker = Broker()
    box = Outbox(App(broker), last_record_alone=quirks)
    for number in range(6):
        box.put_changelog(table, number % 2, f"off_{number}", "sent")
        box.put("psb.notifications.email", f"ntf_{number}".encode(), b"{}")
    asyncio.run(box.settle())
    sizes: dict[int, list[int]] = {}
    for topic, partition, batch in broker.log:
        if topic == "outbox-test-ledger-changelog":
            sizes.setdefault(partition, []).append(len(batch))
    assert sizes == {0: batches, 1: batches}
    outputs = [batch for topic, _, batch in broker.log if topic == "psb.notifications.email"]
    assert sum(map(len, outputs)) == 6
    assert len(outputs) <= 3  # by key into the three partitions, not a batch per record


def test_it_holds_unsent_records_until_a_flush_takes_them(table: Any) -> None:
    box = Outbox(App(Broker()))
    assert not box.holds_unsent()
    box.put_changelog(table, 0, "emp-1", None)  # forgetting a person, from a callback
    assert box.holds_unsent()
    asyncio.run(box.flush())
    assert not box.holds_unsent()


@pytest.mark.parametrize("kind", ["ledger", "work table"])
def test_agents_flush_while_the_commit_waits_for_the_changelogs(table: Any, kind: str) -> None:
    # the commit held the lock while it waited for the ledgers' (or the work tables')
    # acknowledgement, and every agent's flush with it: a good part of the pipeline's p99
    async def scenario() -> list[str]:
        broker = SlowBroker(delay=0.3, slow=lambda topic: topic.endswith("-changelog"))
        box = Outbox(App(broker))
        if kind == "work table":
            box.work_table(table)  # sent with the flush, awaited by the commit
        box.put_changelog(table, 0, "off_1", "sent")
        await box.flush()
        commit = asyncio.create_task(box.settle())
        await asyncio.sleep(0.01)  # the changelog is with the producer
        box.put("psb.notifications.email", b"ntf_2", b"{}")
        await asyncio.wait_for(box.flush(), timeout=0.2)
        assert not commit.done()  # the commit still waits for the changelog
        await commit
        return [topic for topic, _, _ in broker.log]

    assert asyncio.run(scenario()) == ["psb.notifications.email", "outbox-test-ledger-changelog"]


def test_the_ledgers_of_a_commit_go_to_every_partition_at_once(table: Any) -> None:
    # aiokafka takes a partition's second batch only after the first is acknowledged, and
    # every changelog partition has two (on the embedded broker the tail goes alone):
    # handed over one partition after another, a commit took a round trip per partition
    # while it held the agents
    broker = OneBatchInFlightBroker()
    box = Outbox(App(broker), last_record_alone=True)
    for number in range(6):
        box.put_changelog(table, number % 3, f"off_{number}", "sent")
    asyncio.run(box.settle())
    assert broker.most_in_flight == 3
    assert sorted((partition, batch) for _, partition, batch in broker.log) == [
        (0, [(b'"off_0"', b'"sent"')]),
        (0, [(b'"off_3"', b'"sent"')]),
        (1, [(b'"off_1"', b'"sent"')]),
        (1, [(b'"off_4"', b'"sent"')]),
        (2, [(b'"off_2"', b'"sent"')]),
        (2, [(b'"off_5"', b'"sent"')]),
    ]
