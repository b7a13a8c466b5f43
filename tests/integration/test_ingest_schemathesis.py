"""schemathesis against the real ingest server, from the document the server serves.

``schemathesis run`` (the tool as an integrator would run it) with a fixed seed and a
bounded number of cases per operation, in its examples, coverage and fuzzing phases,
positive and negative data. Every answer must be documented with its status, media type
and schema, and no request may get a server error. Where the document's schema is the
boundary's own model (native reports, plain, in a CloudEvent or in a batch), a schema-valid
report must be accepted (``tests/support/schemathesis_hooks.py``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from runtime.settings import KafkaSettings
from tools.ingest import TOKEN, IngestProcess

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "native_reports_accepted",
)
CASES_PER_OPERATION = 25


def test_the_server_keeps_to_its_openapi_document(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    with IngestProcess(kafka_factory(partitions=1), tmp_path) as server:
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks",
            "PYTHONPATH": str(ROOT),
        }
        command = [
            str(SCHEMATHESIS),
            "run",
            f"{server.base_url}/openapi.json",
            "--header",
            f"Authorization: Bearer {TOKEN}",
            "--checks",
            ",".join(CHECKS),
            "--phases",
            "examples,coverage,fuzzing",
            "--generation-deterministic",
            "--generation-with-security-parameters",
            "false",
            "--max-examples",
            str(CASES_PER_OPERATION),
            "--workers",
            "1",
            "--no-color",
        ]
        run = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
        assert "No issues found" in run.stdout, run.stdout[-4000:]
        metrics = httpx.get(f"{server.base_url}/metrics", timeout=10).text
        assert server.process is not None and server.process.poll() is None, "still running"
    native = re.search(r'^psb_ingest_signals_total\{format="native"\} (\S+)$', metrics, re.M)
    assert native is not None and float(native[1]) >= 20, "native reports were accepted"
