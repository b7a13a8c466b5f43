"""Patch (throughput, and the order of durable writes): what the worker produces goes out
as one record batch per partition, and the commit waits for it.

Faust: ``topic.send`` and ``table.send_changelog`` build a future, a pending message and
callbacks for every record; with about twenty records produced per report that machinery
was most of the worker's time. And Faust commits an event's offset once the agent's body
returns, with no notion of which writes must be durable first.
We need: agents put their records in the :class:`Outbox`, which :meth:`Outbox.flush`
sends at the end of each batch of events as record batches of Faust's own aiokafka
producer; Faust's commit calls its producer's ``flush``, which settles the outbox first
(:class:`SettlingProducer`). Why this keeps the guarantees:

* Faust acknowledges a batch's events only after the agent's loop body returns, and the body
  awaits :meth:`Outbox.flush`, which returns when the broker has acknowledged the batch's
  outputs; Faust commits acknowledged offsets only after :meth:`Outbox.settle` has seen the
  changelogs acknowledged too. So no offset is committed before what it produced is durable.
* What the batch produced (signals, offers, notifications) goes first. Then the changelog of
  the tables that hold work still to do (the schedule: :meth:`Outbox.work_table`), and only
  when both are acknowledged, at the next commit, the ledgers that say something was done.
  A crash in between leaves an output or a waiting entry without the ledger entry that
  vouches for it, so it is made again under the same id, which is the repeat the sinks'
  receipts absorb. The other orders could restore a ledger entry ("offer scheduled") for
  an output or a waiting entry that never became durable, and it would never be made.
* All writes of the worker's tables go through one outbox, and a flush hands its batches to
  the producer in the order they were put, under a lock; aiokafka keeps one batch in flight
  per partition, so a key's last write in a changelog is the last one made.
* A table's changelog is compacted and restored by key, so of several writes to one key
  within one flush only the last is sent; the ledgers of all batches since the last commit
  go out together at the commit, to all partitions at once, in one round trip.
* What Faust's consumer loses track of in a rebalance, :mod:`streams.faust_fixes.rewind`
  reads again; the ledgers drop what was already done.
* Only with ``PSB_KAFKA_EMBEDDED_BROKER_QUIRKS`` (``last_record_alone``): the last record of
  each changelog partition goes in a record batch of its own. Faust restores a table by
  reading its changelog up to the broker's high watermark, and the embedded broker (Tansu
  0.6) reports that as the last batch's first offset + 1, so records after the first in
  the last batch were never restored. Kafka needs no such batch (a round trip less).

Writes from callbacks that cannot wait (forgetting a person) are sent by a timer.
Upstream: none; Faust has no batch API for sends or changelogs.
Proof: ``tests/unit/test_outbox.py`` (order, grouping, retries, the changelog bytes equal
Faust's), ``tests/integration/test_ledger_restore.py`` (the embedded broker's watermark),
``tests/integration/test_faults.py``.
Retire: not while ledgers must be durable after their outputs; if Faust gains batched
sends with per-record acknowledgement, the agents could send through Faust and
:class:`SettlingProducer` would go. The changelog bytes are Faust's ``str`` table
serialisation (JSON strings), which a unit test holds equal.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable
from typing import Any

from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from faust.transport.drivers import aiokafka as driver
from pydantic import BaseModel

from runtime.logging import get_logger
from runtime.tracing import record_headers

log = get_logger("outbox")
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 10.0
_partitioner = DefaultPartitioner()
Headers = list[tuple[str, bytes]]
_Record = tuple[bytes | None, bytes | None, Headers]
_Pending = dict[tuple[str, int | None], dict[object, _Record]]


class Outbox:
    """``last_record_alone``: the embedded broker's high watermark (see above)."""

    def __init__(self, app: Any, *, last_record_alone: bool = False) -> None:
        self._app = app
        self._last_record_alone = last_record_alone
        # (topic, partition or None) -> records in order; a table write is keyed by its key,
        # so a later write to the same key replaces the earlier one
        self._outputs: _Pending = {}
        self._work: _Pending = {}  # changelogs of tables of work still to do
        self._changelogs: _Pending = {}  # the ledgers' changelogs
        self._work_tables: set[str] = set()
        self._deferred: list[_Pending] = []  # ledger changelogs waiting for the commit
        self._sequence = itertools.count()
        self._partitions: dict[str, list[int]] = {}
        self._changelog_topics: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._settle_lock = asyncio.Lock()  # one settle at a time: the ledgers in order
        self._filling = 1  # number of the group of records being put now
        self._acknowledged = 0  # last group the broker acknowledged
        self._settling: list[tuple[_Pending, list[Awaitable[Any]]]] = []
        self._put = asyncio.Event()

    def __len__(self) -> int:
        return sum(
            len(records)
            for pending in (self._outputs, self._work, self._changelogs, *self._deferred)
            for records in pending.values()
        )

    def holds_unsent(self) -> bool:
        """Records were put that no flush has taken yet."""
        return bool(self._outputs or self._work or self._changelogs)

    async def wait_put(self) -> None:
        """Returns once a record was put since the last return: what sends the outbox's
        leftovers at rest sleeps until there is something."""
        await self._put.wait()
        self._put.clear()

    def work_table(self, table: Any) -> None:
        """Mark ``table`` as holding work still to do: its changelog is written with the
        outputs' flush, before the ledgers' changelogs."""
        self._work_tables.add(table.name)

    def put(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        headers: Headers | None = None,
    ) -> None:
        """A record for a topic; without a partition, the key chooses it as Kafka's would."""
        records = self._outputs.setdefault((topic, partition), {})
        records[next(self._sequence)] = (key, value, headers or [])
        self._put.set()

    def put_model(
        self, topic: str, key: str, model: BaseModel, incident: str | None = None
    ) -> None:
        """A record about ``incident``: its headers carry the incident and the current
        trace context to whoever reads it (:func:`runtime.tracing.record_headers`)."""
        self.put(
            topic, key.encode(), model.model_dump_json().encode(), headers=record_headers(incident)
        )

    def put_changelog(self, table: Any, partition: int, key: str, value: str | None) -> None:
        """A table write (``None``: delete), serialised as Faust's changelog does for our
        ``str`` tables (JSON strings; a unit test holds the two to the same bytes)."""
        raw_key = json.dumps(key).encode()
        raw_value = None if value is None else json.dumps(value).encode()
        topic = self._changelog_topics.get(table.name)
        if topic is None:
            topic = self._changelog_topics[table.name] = table.changelog_topic.get_topic_name()
        pending = self._work if table.name in self._work_tables else self._changelogs
        records = pending.setdefault((topic, partition), {})
        records.pop(raw_key, None)
        records[raw_key] = (raw_key, raw_value, [])
        self._put.set()

    async def flush(self) -> None:
        """Returns when everything put so far is acknowledged by the broker (the outputs),
        handed to the producer behind them (work tables) or set aside for the commit (the
        ledgers; see :meth:`settle`).

        Flushes are grouped: records put while one flush waits for the broker go out
        together in the next one, and a caller whose records another task's flush took
        waits for that flush (returning early would let its events be acknowledged before
        their records are durable).
        """
        wanted = self._filling
        async with self._lock:
            if self._acknowledged >= wanted:
                return
            outputs, self._outputs = self._outputs, {}
            work, self._work = self._work, {}
            changelogs, self._changelogs = self._changelogs, {}
            sending, self._filling = self._filling, self._filling + 1
            try:
                if outputs or work:
                    producer = self._app.producer._ensure_producer()  # noqa: SLF001  # Faust has no public getter for its aiokafka producer
                    await self._send_until_acknowledged(producer, outputs)
                    if work:
                        self._settling.append((work, await self._send(producer, work)))
            except BaseException:
                # not sent (the producer is not running, the task was cancelled): back in
                # front of what was put since, for the next flush or the commit's settle
                self._outputs = _merged([outputs, self._outputs])
                self._work = _merged([work, self._work])
                self._changelogs = _merged([changelogs, self._changelogs])
                raise
            if changelogs:
                self._deferred.append(changelogs)
            self._acknowledged = sending

    async def settle(self) -> None:
        """Returns when everything put so far, changelogs included, is acknowledged.

        Faust commits offsets only after its producer's ``flush``, which calls this first
        (:class:`SettlingProducer`); so an event's offset is committed only when both what
        it produced and the ledger entries that say so are durable, while the agent goes
        on to its next batch after one round trip instead of two.

        The lock is held only to take what the flushes left; the agents' flushes go on
        while the commit waits for the work tables and the ledgers (holding it stalled
        every hop for up to a tenth of a second at each commit, most of the pipeline's
        p99). Only this method sends ledgers, one call at a time, so each key's writes
        stay in order; a work-table batch the broker refused is sent again under the
        lock, behind the work handed over before it.
        """
        await self.flush()
        async with self._settle_lock:
            async with self._lock:
                settling, self._settling = self._settling, []
                deferred, self._deferred = self._deferred, []
            if not (settling or deferred):
                return
            producer = self._app.producer._ensure_producer()  # noqa: SLF001
            for work, acknowledged in settling:
                try:
                    await asyncio.gather(*acknowledged)
                except KafkaError:
                    async with self._lock:
                        await self._send_until_acknowledged(producer, work)
            # one round trip for all: a key's last write is the one sent
            ledgers = _merged(deferred)
            if ledgers:
                await self._send_until_acknowledged(producer, ledgers)

    async def _send_until_acknowledged(self, producer: Any, pending: _Pending) -> None:
        """Retries while the broker does not acknowledge: Faust acknowledges the batch's
        events when the agent's loop body ends, even by an exception, so giving up here
        would lose them. A retry may repeat records, which the ledgers and receipts absorb."""
        for attempt in itertools.count(1):
            try:
                await asyncio.gather(*await self._send(producer, pending))
                return
            except KafkaError as exc:
                delay = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (attempt - 1))
                log.warning(
                    "broker did not take the batch; retrying",
                    attempt=attempt,
                    delay_s=delay,
                    count=sum(len(records) for records in pending.values()),
                    exc_info=exc,
                )
                await asyncio.sleep(delay)

    async def _send(self, producer: Any, pending: _Pending) -> list[Awaitable[Any]]:
        """Hands ``pending`` to the producer: each partition's batches in order, all
        partitions at once. aiokafka takes a partition's next batch only once the one
        before it is acknowledged, so one partition after another cost a round trip for
        every partition with a second batch."""
        groups = await self._by_partition(producer, pending)
        if len(groups) == 1:
            return await _hand_over(producer, *groups[0])
        handed = await asyncio.gather(
            *(_hand_over(producer, *group) for group in groups), return_exceptions=True
        )
        acknowledged: list[Awaitable[Any]] = []
        for outcome in handed:
            if isinstance(outcome, BaseException):
                raise outcome
            acknowledged.extend(outcome)
        return acknowledged

    async def _by_partition(
        self, producer: Any, pending: _Pending
    ) -> list[tuple[str, int, list[Any]]]:
        """``pending`` as record batches per topic partition, in the order put."""
        records_of: dict[tuple[str, int], list[_Record]] = {}
        for (topic, partition), records in pending.items():
            partitions = await self._partitions_of(producer, topic) if partition is None else []
            for record in records.values():
                number = partition
                if number is None:
                    number = _partitioner(record[0], partitions, partitions)
                records_of.setdefault((topic, number), []).append(record)
        changelogs = self._changelog_topics.values()
        groups = []
        for (topic, number), group in records_of.items():
            tail_alone = self._last_record_alone and len(group) > 1 and topic in changelogs
            parts = [group[:-1], group[-1:]] if tail_alone else [group]
            groups.append((topic, number, [b for part in parts for b in _filled(producer, part)]))
        return groups

    async def _partitions_of(self, producer: Any, topic: str) -> list[int]:
        known = self._partitions.get(topic)
        if known is None:
            known = self._partitions[topic] = sorted(await producer.partitions_for(topic))
        return known


async def _hand_over(
    producer: Any, topic: str, partition: int, batches: list[Any]
) -> list[Awaitable[Any]]:
    return [await producer.send_batch(batch, topic, partition=partition) for batch in batches]


def _filled(producer: Any, records: list[_Record]) -> list[Any]:
    """``records`` in record batches, in order; as many as their size needs."""
    batches = [producer.create_batch()]
    for record in records:
        if _append(batches[-1], record) is None:
            batches.append(producer.create_batch())  # full: start another
            _append(batches[-1], record)
    return batches


def _append(batch: Any, record: _Record) -> Any:
    key, value, headers = record
    return batch.append(key=key, value=value, timestamp=None, headers=headers)


def _merged(groups: list[_Pending]) -> _Pending:
    """The groups' records as one, in the order they were put; of several writes to one
    table key, the last."""
    merged: _Pending = {}
    for pending in groups:
        for place, records in pending.items():
            target = merged.setdefault(place, {})
            for key, record in records.items():
                target.pop(key, None)
                target[key] = record
    return merged


class SettlingProducer(driver.Producer):
    async def flush(self) -> None:
        """Faust flushes before it commits offsets: the outbox settles first."""
        outbox = getattr(self.app, "outbox", None)
        if outbox is not None:
            await outbox.settle()
        await super().flush()
