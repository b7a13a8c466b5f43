"""Following one report: with the standard ``OTEL_*`` variables set, the ingest server, the
worker and a sink export one connected trace per report to an OTLP/HTTP receiver, and every
log line about the report names its incident pseudonym."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from confluent_kafka import Producer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from runtime.broker import free_port
from runtime.kafka import producer_config
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import StaffProfile
from tests.support.sink import SinkProcess
from tools.ingest import IngestProcess
from tools.kafka import produce_keyed
from tools.worker import IMMEDIATE_POLICY, WorkerProcess

MARKER = "Sporingsmerke Ola Testpasient"
STAFF = ("emp-trace-reporter", "emp-trace-involved")
WORKER_SPANS = {"offers", "dispatch", "notify"}


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, str]


def _text(value: AnyValue) -> str:
    kind = value.WhichOneof("value")
    return "" if kind is None else str(getattr(value, kind))


@dataclass
class OtlpReceiver:
    """An OTLP/HTTP collector in a thread of this process: ``POST /v1/traces`` in protobuf."""

    port: int = field(default_factory=free_port)
    spans: list[Span] = field(default_factory=list)
    resource_values: list[str] = field(default_factory=list)

    async def _traces(self, request: web.Request) -> web.Response:
        export = ExportTraceServiceRequest.FromString(await request.read())
        for resource_spans in export.resource_spans:
            resource = {a.key: _text(a.value) for a in resource_spans.resource.attributes}
            self.resource_values += resource.values()
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        Span(
                            service=resource.get("service.name", ""),
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            attributes={a.key: _text(a.value) for a in span.attributes},
                        )
                    )
        body = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=body, content_type="application/x-protobuf")

    def __enter__(self) -> OtlpReceiver:
        self._loop = asyncio.new_event_loop()
        started = threading.Event()

        async def serve() -> None:
            app = web.Application()
            app.router.add_post("/v1/traces", self._traces)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
            started.set()

        def run() -> None:
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert started.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def env(self) -> dict[str, str]:
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.port}",
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # milliseconds: the test waits for no batch
        }

    def wait_for(self, condition: Callable[[list[Span]], bool], what: str) -> None:
        deadline = time.monotonic() + 30
        while not condition(list(self.spans)):
            assert time.monotonic() < deadline, f"no {what}: {self.spans}"
            time.sleep(0.1)


@dataclass
class Parts:
    kafka: KafkaSettings
    receiver: OtlpReceiver
    ingest: IngestProcess
    worker: WorkerProcess
    sink: SinkProcess


@pytest.fixture(scope="module")
def parts(
    kafka_factory: Callable[..., KafkaSettings], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Parts]:
    kafka = kafka_factory(partitions=1)
    profiles = [
        StaffProfile.model_validate(
            {
                "staff_ref": ref,
                "profession": "nurse",
                "unit_code": "MED-3",
                "channels": [{"channel": "email", "address": f"{ref}@sykehus.example"}],
            }
        )
        for ref in STAFF
    ]
    topics = Topics(kafka.topic_prefix)
    produce_keyed(
        kafka, topics.staff_directory, [(p.staff_ref, p.model_dump_json()) for p in profiles]
    )
    workdir = tmp_path_factory.mktemp("tracing")
    with OtlpReceiver() as receiver:
        otel = receiver.env()
        ingest = IngestProcess(kafka, workdir, {**otel, "PSB_POLICY_FILE": str(IMMEDIATE_POLICY)})
        worker = WorkerProcess(kafka, f"trace-{uuid.uuid4().hex[:8]}", workdir, extra_env=otel)
        sink = SinkProcess(kafka, "outbox", workdir, otel)
        with ThreadPoolExecutor(3) as pool:  # one start-up's wait instead of three
            for started in [pool.submit(part.start) for part in (ingest, worker, sink)]:
                started.result()
        wait_ready(ingest)
        try:
            yield Parts(kafka, receiver, ingest, worker, sink)
        finally:
            for part in (ingest, worker, sink):
                part.stop()


def wait_ready(ingest: IngestProcess) -> None:
    """Ready once it has read the staff directory."""
    deadline = time.monotonic() + 30
    while httpx.get(f"{ingest.base_url}/health/ready", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, ingest.log()
        time.sleep(0.1)


def native_report(report_id: str) -> dict[str, Any]:
    return {
        "format": "peer-support-bridge/incident-report",
        "version": 1,
        "report_id": report_id,
        "source_system": "itest",
        "reported_at": "2026-11-20T14:03:00+01:00",
        "description": MARKER,
        "staff": [
            {"staff_ref": STAFF[0], "role": "reporter"},
            {"staff_ref": STAFF[1], "role": "involved"},
        ],
    }


def records(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def trace_of(spans: list[Span], incident: str) -> list[Span]:
    ids = {span.trace_id for span in spans if span.attributes.get("psb.incident") == incident}
    assert len(ids) == 1, f"incident {incident} is in {len(ids)} traces"
    return [span for span in spans if span.trace_id in ids]


def delivered(spans: list[Span], incident: str) -> bool:
    named = [s for s in spans if s.attributes.get("psb.incident") == incident]
    return sum(1 for span in named if span.name == "deliver") >= len(STAFF)


def assert_connected(trace: list[Span], root_parent: str = "") -> None:
    """One root (whose parent is ``root_parent``: none, or the caller's span), and every
    other span's parent is in the trace."""
    ids = {span.span_id for span in trace}
    roots = [span for span in trace if span.parent_id not in ids]
    assert [root.parent_id for root in roots] == [root_parent], roots


def assert_nothing_of_the_report(parts: Parts, report_id: str) -> None:
    values = [v for span in parts.receiver.spans for v in span.attributes.values()]
    values += parts.receiver.resource_values
    for secret in (MARKER, "Testpasient", report_id, *STAFF):
        assert not [value for value in values if secret in value], secret


def assert_logs_name_the_incident(parts: Parts, incident: str, trace_id: str) -> None:
    """Every line about the report (its trace, its offers, its notifications) names it."""
    lines = [
        line for part in (parts.ingest, parts.worker, parts.sink) for line in records(part.log_path)
    ]
    ours = [line for line in lines if line.get("trace_id") == trace_id]
    offers = {line["offer_id"] for line in ours if "offer_id" in line}
    about = [
        line
        for line in lines
        if line.get("trace_id") == trace_id
        or line.get("offer_id") in offers
        or line.get("incident") == incident
    ]
    assert {line["event"] for line in about} >= {
        "ingest accepted",
        "offer made",
        "notification sent to channel topic",
        "delivered",
    }
    assert len(offers) == len(STAFF)
    for line in about:
        assert line.get("incident") == incident, line


def test_one_report_is_one_connected_trace_from_ingest_to_delivery(parts: Parts) -> None:
    report_id = f"TR-{uuid.uuid4().hex[:8]}"
    answer = parts.ingest.post("/v1/reports", native_report(report_id))
    assert answer.status_code == 202, answer.text
    (incident,) = answer.json()["incidents"]
    parts.receiver.wait_for(lambda spans: delivered(spans, incident), "deliveries")

    trace = trace_of(parts.receiver.spans, incident)
    assert_connected(trace)
    by_service: dict[str, set[str]] = {}
    for span in trace:
        by_service.setdefault(span.service, set()).add(span.name)
    assert by_service == {
        "peer-support-ingest": {"POST /v1/reports", "publish"},
        "peer-support-worker": WORKER_SPANS,
        "peer-support-sink-outbox": {"deliver"},
    }
    (root,) = [span for span in trace if span.name == "POST /v1/reports"]
    assert root.attributes["http.response.status_code"] == "202"
    assert_nothing_of_the_report(parts, report_id)
    assert_logs_name_the_incident(parts, incident, root.trace_id)


def test_a_report_read_from_kafka_continues_its_producers_trace(parts: Parts) -> None:
    """A reporting system that writes to ``incident-reports`` with a ``traceparent`` header
    finds minimize and everything after it in its own trace."""
    report_id = f"TK-{uuid.uuid4().hex[:8]}"
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    producer = Producer(producer_config(parts.kafka))
    producer.produce(
        Topics(parts.kafka.topic_prefix).incident_reports,
        value=json.dumps(native_report(report_id)).encode(),
        headers=[("traceparent", f"00-{trace_id}-{parent}-01".encode())],
    )
    assert producer.flush(30) == 0
    parts.receiver.wait_for(
        lambda spans: (
            sum(1 for s in spans if s.name == "deliver" and s.trace_id == trace_id) >= len(STAFF)
        ),
        "deliveries in the producer's trace",
    )
    trace = [span for span in parts.receiver.spans if span.trace_id == trace_id]
    assert_connected(trace, root_parent=parent)
    assert {span.name for span in trace} == {"minimize", *WORKER_SPANS, "deliver"}
    (incident,) = {span.attributes["psb.incident"] for span in trace}
    worker_lines = records(parts.worker.log_path)
    assert any(
        line["event"] == "signal minimized" and line.get("incident") == incident
        for line in worker_lines
    )
    assert_nothing_of_the_report(parts, report_id)
