"""Tracing's switch and what crosses in headers, spans and log lines."""

from __future__ import annotations

import io
import json

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from runtime import tracing
from runtime.logging import configure, get_logger

INCIDENT = "inc_" + "0" * 32


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_tracing_is_on_only_when_the_standard_variables_ask_for_it(
    environ: dict[str, str], on: bool
) -> None:
    assert tracing.wanted(environ) is on


def test_off_it_installs_nothing() -> None:
    assert tracing.setup("peer-support-test", environ={}) is False
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)


def test_an_exporter_it_cannot_serve_leaves_tracing_off_with_one_warning() -> None:
    stream = io.StringIO()
    configure("info", stream)
    environ = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    assert tracing.setup("peer-support-test", environ=environ) is False
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["path"] == "OTEL_EXPORTER_OTLP_PROTOCOL"


def test_a_header_that_is_no_incident_pseudonym_is_not_taken_for_one() -> None:
    assert tracing.incident_of([("psb-incident", INCIDENT.encode())]) == INCIDENT
    assert tracing.incident_of([("psb-incident", b"Ola Testpasient")]) is None
    assert tracing.incident_of(None) is None


def test_a_step_continues_the_record_s_trace_names_its_incident_and_keeps_errors_bare(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "tracer", lambda: provider.get_tracer("test"))
    stream = io.StringIO()
    configure("info", stream)
    parent = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    attributes = {"psb.incident": INCIDENT, "psb.address": "ola@example.org"}
    with (
        pytest.raises(ValueError, match="Ola"),
        tracing.step("offers", attributes, headers=[("traceparent", parent.encode())]),
    ):
        produced = tracing.record_headers(INCIDENT)
        get_logger("offers").info("offer made")
        raise ValueError("Ola Testpasient")
    (span,) = exporter.get_finished_spans()
    assert format(span.context.trace_id, "032x") == "a" * 32
    assert span.parent is not None and format(span.parent.span_id, "016x") == "b" * 16
    assert dict(span.attributes or {}) == {"psb.incident": INCIDENT}
    assert span.status.description == "ValueError"
    assert not span.events  # no exception event: its message may quote a report
    assert dict(produced)["psb-incident"] == INCIDENT.encode()
    assert dict(produced)["traceparent"].decode().startswith("00-" + "a" * 32)
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["incident"] == INCIDENT
    assert line["trace_id"] == "a" * 32
