"""The worker's port serves its health and metrics, and nothing that holds state.

Faust serves table contents (``/table/<name>/<key>/``), the cluster's layout (``/router/``)
and statistics by default; all are switched off, and the evaluation page is on a port of
its own only when asked for. The running worker is asked the same in
``tests/integration/test_pipeline.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.settings import BoundarySettings, KafkaSettings, WorkerSettings
from streams import web
from streams.app import create_app
from streams.evaluation.settings import EvaluationSettings
from tools.worker import TEST_PSEUDONYM_KEY


def served_routes(tmp_path: Path, **evaluation: object) -> set[str]:
    ctx = create_app(
        KafkaSettings(),
        BoundarySettings(pseudonym_key=TEST_PSEUDONYM_KEY),
        WorkerSettings(data_dir=tmp_path),
        evaluation=EvaluationSettings.model_validate(evaluation),
    )
    server = ctx.app.web
    server.init_server()
    return {resource.canonical for resource in server.web_app.router.resources()}


def test_the_worker_serves_only_the_allowed_routes(tmp_path: Path) -> None:
    assert served_routes(tmp_path) == set(web.ROUTES)


@pytest.mark.parametrize("port", [None, 8099])
def test_the_evaluation_page_is_never_on_the_workers_port(tmp_path: Path, port: int | None) -> None:
    assert "/evaluation" not in served_routes(tmp_path, port=port)
