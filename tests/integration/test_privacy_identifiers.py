"""Real-shaped identifiers planted in every field the boundary reads (valid national identity
numbers, D- and H-numbers, e-mail addresses, phone numbers, names joined to look like codes,
free text), sent through the command line, the ingest server and the worker: none may come
out in clear, on any topic (changelogs included), in any answer, log line or metric.

Some planted values are also the staff references of people in the directory, as when an
HR system uses national identity numbers: those people get offers, as pseudonyms only.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from random import Random

import httpx
import pytest

from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import StaffProfile
from schemas.boundary import BoundaryError, Vocabulary, project
from schemas.codes import is_identifier
from tests.support.identifiers import (
    FORMATS,
    KINDS,
    Planted,
    every_field_and_kind,
    every_field_at_once,
)
from tools.ingest import IngestProcess
from tools.kafka import produce, produce_keyed, records
from tools.worker import TEST_KEY, TEST_PSEUDONYM_KEY, WorkerProcess

pytestmark = pytest.mark.integration

FHIR_JSON = "application/fhir+json"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
KNOWN_STAFF = ("emp-1", "emp-2", "Practitioner/nurse-1", "Practitioner/doctor-2")
SEED = 20261203


def every_case() -> list[Planted]:
    """Every field the boundary reads, of every format, with every kind of identifier."""
    rng = Random(SEED)
    return [planted for fmt in sorted(FORMATS) for planted in every_field_and_kind(fmt, rng)]


def accepted_with_most_fields(fmt: str, rng: Random) -> Planted:
    """A report of ``fmt`` that the boundary accepts, with an identifier in every field where
    one of some kind leaves it acceptable (so what passes is seen, not only refusals)."""
    make, setters = FORMATS[fmt]
    planted = Planted(make())
    for name, kind in itertools.product(sorted(setters), sorted(KINDS)):
        if name in planted.fields:
            continue
        trial = copy.deepcopy(planted.document)
        value = KINDS[kind](rng)
        setters[name](trial, value)
        try:
            project(trial, TEST_KEY, Vocabulary(), received_at=NOW)
        except BoundaryError:
            continue
        planted.document = trial
        planted.values.append(value)
        planted.fields.append(name)
    return planted


def leaks(planted: Iterable[Planted], **outputs: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for where, text in outputs.items():
        leaked = [trace for report in planted for trace in report.leaks(text)]
        if leaked:
            found[where] = leaked[:5]
    return found


def directory_for(planted: Iterable[Planted]) -> list[tuple[str, str]]:
    """Profiles for the fixtures' staff and for every planted value that could be a staff
    reference (an HR system may well use national identity numbers or e-mail addresses)."""
    refs = [*KNOWN_STAFF, *(v for p in planted for v in p.values if is_identifier(v))]
    return [
        (
            ref,
            StaffProfile(
                staff_ref=ref,
                profession="nurse",
                unit_code="MED-3",
                channels=[{"channel": "email", "address": f"person{n}@sykehus.example"}],
            ).model_dump_json(),
        )
        for n, ref in enumerate(dict.fromkeys(refs))
    ]


def test_the_command_line_prints_no_identifier() -> None:
    rng = Random(SEED)
    planted = [
        report
        for fmt in sorted(FORMATS)
        for report in (
            accepted_with_most_fields(fmt, rng),  # accepted: what passes?
            every_field_at_once(fmt, rng, sorted(FORMATS[fmt][1])),  # refused: what is said?
        )
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSB_")}
    env["PSB_PSEUDONYM_KEY"] = TEST_PSEUDONYM_KEY
    outputs = []
    for report in planted:
        done = subprocess.run(
            [sys.executable, "-m", "peer_support", "minimize"],
            input=json.dumps(report.document).encode(),
            capture_output=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode in (0, 2), done.stderr
        assert b"Traceback" not in done.stderr
        outputs.append((done.stdout + done.stderr).decode())
    assert any('"incident-signal"' in text for text in outputs), "no report was accepted"
    assert not leaks(planted, cli="\n".join(outputs))


def test_the_ingest_server_keeps_no_identifier(ingest: IngestProcess, kafka: KafkaSettings) -> None:
    sent = every_case()
    produce_keyed(kafka, Topics(kafka.topic_prefix).staff_directory, directory_for(sent))
    answers: list[str] = []
    for report in sent:
        native = report.document.get("format") is not None
        path = "/v1/reports" if native else "/fhir/AdverseEvent"
        response = ingest.post(path, report.document, "application/json" if native else FHIR_JSON)
        assert response.status_code in (202, 400, 422), response.text
        answers.append(response.text)
    assert any('"accepted"' in text for text in answers), "no report was accepted"
    metrics = httpx.get(f"{ingest.base_url}/metrics", timeout=10).text
    topics = Topics(kafka.topic_prefix)
    found = records(kafka, kafka.topic_prefix, skip=(topics.staff_directory,))
    assert "incident-signal" in found
    assert not leaks(sent, answers="\n".join(answers), log=ingest.log(), metrics=metrics)
    assert not leaks(sent, topics=found)


def test_the_worker_keeps_no_identifier(kafka: KafkaSettings, tmp_path: Path) -> None:
    topics = Topics(kafka.topic_prefix)
    app_id = f"planted-{uuid.uuid4().hex[:8]}"
    worker = WorkerProcess(kafka, app_id, tmp_path)
    sent = every_case()
    produce_keyed(kafka, topics.staff_directory, directory_for(sent))
    worker.start()
    try:
        produce(kafka, topics.incident_reports, [json.dumps(p.document).encode() for p in sent])
        handled = 'psb_reports_total{outcome="signal"}'
        deadline = time.monotonic() + 90
        while worker.metric(handled) + worker.metric(
            'psb_reports_total{outcome="dead-lettered"}'
        ) < len(sent):
            assert time.monotonic() < deadline, worker.log()
            time.sleep(0.3)
        worker.wait_metric('psb_notifications_total{channel="email",kind="offer"}', 1)
        metrics = httpx.get(worker.url("/metrics"), timeout=10).text
    finally:
        worker.stop()
    found = records(
        kafka,
        kafka.topic_prefix,
        app_id,  # the worker's changelogs
        skip=(topics.staff_directory, topics.incident_reports),  # what was put in
    )
    assert "support-offer" in found and "notification" in found
    assert not leaks(sent, topics=found, log=worker.log(), metrics=metrics)
