"""``peer-support report --month YYYY-MM [--csv]``: the month's k-anonymous evaluation table,
read from the compacted ``evaluation`` topic the worker writes (no worker needs to run)."""

from __future__ import annotations

import time
import uuid
from typing import Annotated

import typer
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from pydantic import ValidationError

from peer_support.exits import broker_errors, broker_or_exit, fail, settings_or_exit
from runtime.kafka import confluent_config
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from streams.evaluation.figures import Figures
from streams.evaluation.report import as_csv, as_text, month_table


def read_figures(
    kafka: KafkaSettings, idle_s: float = 2.0, timeout_s: float = 60.0
) -> list[Figures]:
    """The latest partial of every cell, the last record per key winning (as compaction
    does). Reads until the topic stays quiet for ``idle_s``: high watermarks are not
    trusted, since some brokers (Tansu 0.6) report them short of multi-record batches."""
    topic = Topics(kafka.topic_prefix).evaluation
    consumer = Consumer(
        confluent_config(
            kafka, **{"group.id": f"report-{uuid.uuid4().hex}", "enable.auto.commit": False}
        )
    )
    latest: dict[str, bytes | None] = {}
    try:
        metadata = consumer.list_topics(topic, timeout=kafka.connect_timeout_s)
        numbers = sorted(metadata.topics[topic].partitions) if topic in metadata.topics else []
        if not numbers:
            return []
        consumer.assign([TopicPartition(topic, n, OFFSET_BEGINNING) for n in numbers])
        deadline = time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - quiet_since < idle_s:
            message = consumer.poll(0.2)
            if message is None or message.error() is not None:
                continue
            quiet_since = time.monotonic()
            latest[(message.key() or b"").decode()] = message.value()
    finally:
        consumer.close()
    figures = []
    for value in latest.values():
        if value:
            try:
                figures.append(Figures.model_validate_json(value))
            except ValidationError:
                continue
    return figures


def report(
    month: Annotated[str, typer.Option(help="The month, as YYYY-MM.")],
    as_csv_output: Annotated[
        bool, typer.Option("--csv", help="Print CSV instead of a table.")
    ] = False,
) -> None:
    """Print a month's evaluation figures per unit, profession and scheme (k-anonymous)."""
    from runtime import settings as config
    from streams.evaluation.settings import EvaluationSettings

    try:
        Figures(month=month, unit="x", profession="x", scheme="x")
    except ValidationError:
        fail("--month must be YYYY-MM, for example 2026-11")
    k = settings_or_exit(EvaluationSettings).k
    kafka = settings_or_exit(config.KafkaSettings)
    broker_or_exit(kafka)
    with broker_errors(kafka):
        figures = read_figures(kafka)
    rows = month_table(figures, month, k)
    typer.echo(as_csv(rows) if as_csv_output else as_text(rows, month, k), nl=False)
