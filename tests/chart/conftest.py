"""The Helm chart and the Dockerfile, checked without a cluster or a broker: the chart is
rendered by Helm's own engine, the Dockerfile linted. Marked ``chart``, so
``pytest -m "not chart"`` runs everything else."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.chart)
