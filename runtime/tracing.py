"""Following one report across processes: OpenTelemetry tracing and the incident pseudonym
carried in Kafka record headers.

Tracing is off unless the standard variables ask for it (``OTEL_TRACES_EXPORTER=otlp`` or an
``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT``, and ``OTEL_SDK_DISABLED`` not ``true``). Off, the
tracer provider stays the API's no-op default: no exporter, no thread, nothing that wakes an
idle process; a record's trace context still passes through untouched, so a trace stays
connected across a process that does not export. On, spans go by OTLP/HTTP (protobuf)
through a batch processor; the exporter, the batch processor and the sampler read their own
``OTEL_*`` variables.

Every record produced about a report carries ``psb-incident`` (the incident's keyed
pseudonym) beside ``traceparent``/``tracestate``: a notification holds no incident, and its
sink still names the incident in its logs. :func:`step` opens one span per step and binds
the step's ids to every log line written within it.

Span attributes pass :data:`ATTRIBUTES`: codes, reason codes, opaque ids and pseudonyms,
never an address, a name, a staff reference in clear or anything of a report. A failed
step's span records the exception's type only (the SDK's own recording would keep its
message, which may quote its input).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Final

import structlog
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from runtime.logging import get_logger
from runtime.metrics import build_version
from schemas.codes import PSEUDONYM_PATTERN

log = get_logger("tracing")

INCIDENT_HEADER: Final = "psb-incident"
TRACER_NAME: Final = "peer-support-bridge"
SUPPORTED_EXPORTER: Final = "otlp"
SUPPORTED_PROTOCOL: Final = "http/protobuf"

ATTRIBUTES: Final = frozenset(
    {
        "psb.incident",  # keyed pseudonym
        "psb.offer",  # opaque id
        "psb.notification",  # opaque id
        "psb.source_format",
        "psb.channel",
        "psb.kind",
        "psb.reason",
        "psb.attempt",
        "psb.count",
        "messaging.system",
        "messaging.operation.type",
        "messaging.destination.name",  # a topic
        "http.request.method",
        "http.route",  # the route's template, never the path sent
        "http.response.status_code",
    }
)

LOG_IDS: Final = {
    "psb.incident": "incident",
    "psb.offer": "offer_id",
    "psb.notification": "notification_id",
}
"""Span attributes that are also bound to every log line written within the step."""

KafkaHeaders = list[tuple[str, bytes]]
ReadHeaders = Mapping[str, bytes | str | None] | Iterable[tuple[str, bytes | str | None]] | None

_PSEUDONYM: Final = re.compile(PSEUDONYM_PATTERN.strip("^$"))
_PROPAGATOR: Final = TraceContextTextMapPropagator()
"""W3C trace context only, whatever ``OTEL_PROPAGATORS`` says: baggage read from a
reporting system's record would be copied onto every record after it."""

_service: str | None = None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def wanted(environ: Mapping[str, str]) -> bool:
    """Whether the ``OTEL_*`` variables ask for traces to be exported."""
    if _truthy(environ.get("OTEL_SDK_DISABLED")):
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def _refusal(environ: Mapping[str, str]) -> str | None:
    """Why the variables ask for something this build cannot export, or ``None``."""
    exporter = environ.get("OTEL_TRACES_EXPORTER", SUPPORTED_EXPORTER).strip().lower()
    if exporter != SUPPORTED_EXPORTER:
        return "OTEL_TRACES_EXPORTER"
    protocol = environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    if protocol.strip() not in ("", SUPPORTED_PROTOCOL):
        return "OTEL_EXPORTER_OTLP_PROTOCOL"
    return None


def setup(service: str, environ: Mapping[str, str] | None = None) -> bool:
    """Export this process's spans as ``service`` when the variables ask for it; ``True``
    when tracing is on. Once per process: a demo running several parts in one process
    exports under the first part's name. ``OTEL_SERVICE_NAME`` overrides ``service``."""
    global _service  # one tracer provider per process, as OpenTelemetry has it
    env = os.environ if environ is None else environ
    if _service is not None:
        return True
    if not wanted(env):
        return False
    refused = _refusal(env)
    if refused is not None:
        log.warning(
            "tracing left off: only OTLP over HTTP (http/protobuf) is supported",
            path=refused,
        )
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes: dict[str, AttributeValue] = {SERVICE_VERSION: build_version()}
    if not env.get("OTEL_SERVICE_NAME"):
        attributes[SERVICE_NAME] = service
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _service = service
    log.info("tracing on")
    return True


def allowed(attributes: Mapping[str, object]) -> dict[str, AttributeValue]:
    """The attributes a span may carry: allow-listed keys with scalar values."""
    return {
        key: value
        for key, value in attributes.items()
        if key in ATTRIBUTES and isinstance(value, str | bool | int | float)
    }


def record_headers(incident: str | None = None) -> KafkaHeaders:
    """Headers for a record produced now: the current trace context and the incident."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    headers = [(key, value.encode()) for key, value in carrier.items()]
    if incident:
        headers.append((INCIDENT_HEADER, incident.encode()))
    return headers


_READ: Final = frozenset({"traceparent", INCIDENT_HEADER})
"""The headers read from a record or request: ``tracestate`` is free text the caller sets,
and would be copied onto every record and span after it, so it is left behind."""


def _carrier(headers: ReadHeaders) -> dict[str, str]:
    if headers is None:
        return {}
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    carrier: dict[str, str] = {}
    for key, value in pairs:
        if value is None or key.lower() not in _READ:
            continue
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        carrier[key.lower()] = text
    return carrier


def parent_of(headers: ReadHeaders) -> Context:
    """The trace context a record's (or a request's) headers carry."""
    return _PROPAGATOR.extract(_carrier(headers))


def incident_of(headers: ReadHeaders) -> str | None:
    """The incident pseudonym a record's headers name; anything else a header holds there
    is not one, and is never logged."""
    value = _carrier(headers).get(INCIDENT_HEADER, "")
    return value if _PSEUDONYM.fullmatch(value) else None


def consumed(topic: str, **ids: str | None) -> dict[str, object]:
    """A consuming step's attributes: the topic read, and ids given as ``incident=``,
    ``offer=``, ``notification=``."""
    return {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": topic,
        **{f"psb.{name}": value for name, value in ids.items() if value},
    }


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def annotate(attributes: Mapping[str, object]) -> None:
    """Allow-listed attributes on the current span; nothing to do when tracing is off."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(allowed(attributes))


@contextmanager
def step(
    name: str,
    attributes: Mapping[str, object] | None = None,
    *,
    headers: ReadHeaders = None,
    kind: SpanKind = SpanKind.INTERNAL,
) -> Iterator[Span]:
    """One span, child of the context in ``headers`` (when given) or of the current one;
    its incident, offer and notification ids are bound to every log line written within."""
    named = dict(attributes or {})
    parent = parent_of(headers) if headers is not None else None
    ids = {LOG_IDS[key]: value for key, value in named.items() if key in LOG_IDS and value}
    with (
        structlog.contextvars.bound_contextvars(**ids),
        tracer().start_as_current_span(
            name,
            context=parent,
            kind=kind,
            attributes=allowed(named),
            record_exception=False,
            set_status_on_exception=False,
        ) as span,
    ):
        try:
            yield span
        except BaseException as exc:
            span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
            raise
