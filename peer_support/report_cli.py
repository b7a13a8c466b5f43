"""``peer-support report --month YYYY-MM [--csv]``: the month's k-anonymous evaluation table,
read from the compacted ``evaluation`` topic the worker writes (no worker needs to run)."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from peer_support.exits import broker_errors, broker_or_exit, fail, settings_or_exit
from runtime.settings import KafkaSettings
from runtime.topic_reader import latest_values
from runtime.topics import Topics
from streams.evaluation.figures import Figures
from streams.evaluation.report import as_csv, as_text, month_table


def read_figures(kafka: KafkaSettings, timeout_s: float = 60.0) -> list[Figures]:
    """The latest partial of every cell, the last record per key winning (as compaction
    does); a record that is not a cell's figures is left out."""
    topic = Topics(kafka.topic_prefix).evaluation
    figures = []
    for value in latest_values(kafka, topic, timeout_s=timeout_s, missing="skip").values():
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
