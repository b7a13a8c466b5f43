"""The ingest web application: routes, the refusal middleware, health and metrics.

Every POST goes the same way: admission (credentials from the headers, rate limits, then
the body within its bounds, then signatures; see :mod:`admission`), take off any CloudEvents
envelope, check the media type, minimize, produce, and answer 202 only once the broker
acknowledged every signal of the request. A refusal is a :class:`Problem`, and every path
and method has a route, so every answer passes the refusal middleware. The report routes
also take a CloudEvents batch: each event is judged alone, the accepted ones are stored
together, and the answer lists every event's outcome by its index (422 when none passed).

The server minimizes with the installation's vocabulary: the policy's codes, the configured
source systems, and the units of the staff directory, which it follows on its compacted
topic; it is not ready until the directory is loaded. What the boundary dropped is counted
and named in the answer by field and reason, never by value.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
from aiohttp import web

from connectors.ingest import cloudevents
from connectors.ingest.admission import Admitted, Gate
from connectors.ingest.auth import Authenticator
from connectors.ingest.fhir_client import FhirReader
from connectors.ingest.metrics import IngestMetrics, route_label
from connectors.ingest.notifications import read_notification
from connectors.ingest.openapi import openapi_document
from connectors.ingest.outcomes import (
    Accepted,
    Acknowledged,
    DroppedValue,
    EventAccepted,
    EventOutcome,
    EventRefused,
    Live,
    Ready,
)
from connectors.ingest.problems import SERVER_NAME, Problem
from connectors.ingest.producer import BrokerUnavailable, SignalProducer
from connectors.ingest.settings import FhirReadSettings, IngestSettings
from connectors.ingest.tracing import requests as traced
from runtime import tracing
from runtime.clock import utc_now
from runtime.logging import get_logger
from runtime.metrics import metrics_handler
from runtime.policy_holder import PolicyHolder
from runtime.settings import BoundarySettings, KafkaSettings, PolicySettings
from runtime.staff_view import StaffView
from runtime.topics import Topics
from runtime.vocabulary import InstallationVocabulary
from schemas.boundary import BoundaryError, Drop, InputFormat, load_document, project
from schemas.signal import IncidentSignal

log = get_logger("ingest")

JSON: Final = "application/json"
FHIR_JSON: Final = "application/fhir+json"
FHIR_VERSIONS: Final = {
    "4.0": InputFormat.FHIR_R4,
    "4.3": InputFormat.FHIR_R4,
    "5.0": InputFormat.FHIR_R5,
}
POST_ROUTES: Final = ("/v1/reports", "/fhir/AdverseEvent", "/fhir/subscription")
REPORT_MEDIA: Final = frozenset({JSON, FHIR_JSON})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Minimized:
    """The signals of one request, and what the boundary dropped on the way."""

    signals: list[IncidentSignal] = field(default_factory=list)
    dropped: list[Drop] = field(default_factory=list)


@dataclass
class Ingest:
    settings: IngestSettings
    boundary: BoundarySettings
    producer: SignalProducer
    auth: Authenticator
    gate: Gate
    metrics: IngestMetrics
    fhir: FhirReadSettings
    directory: StaffView
    policy: PolicyHolder
    vocabulary: InstallationVocabulary
    reload_interval_s: float
    reader: FhirReader | None = None

    def __post_init__(self) -> None:
        self.policy.on_refused = self.metrics.policy_reload_refused.inc

    def minimize(
        self,
        document: Mapping[str, Any],
        fmt: InputFormat,
        into: Minimized,
        path_prefix: str = "",
    ) -> None:
        try:
            projection = project(
                document,
                self.boundary.key(),
                self.vocabulary.current(),
                input_format=fmt,
                fhir_source_system=self.boundary.fhir_source_system,
                received_at=utc_now(),
            )
        except BoundaryError as error:
            raise Problem.from_boundary(error, path_prefix) from None
        into.signals.append(projection.signal)
        into.dropped += projection.dropped

    async def produce(
        self, minimized: Minimized, events: list[EventOutcome] | None = None
    ) -> web.Response:
        signals = minimized.signals
        try:
            await asyncio.gather(*(self.producer.send(signal) for signal in signals))
        except BrokerUnavailable:
            raise Problem(
                503,
                "broker-unavailable",
                headers={"Retry-After": str(self.settings.retry_after_s)},
            ) from None
        self.metrics.source_last_report.set_to_current_time()
        for signal in signals:
            self.metrics.signals.labels(signal.source_format.value).inc()
        for drop in minimized.dropped:
            self.metrics.dropped.labels(drop.field.value, drop.reason.value).inc()
        for signal in signals:
            log.info("ingest accepted", incident=signal.incident, format=signal.source_format.value)
        naming_no_one = sum(1 for signal in signals if not signal.staff)
        self.metrics.naming_no_one.inc(naming_no_one)
        answer = Accepted(
            status="accepted",
            accepted=len(signals),
            incidents=[signal.incident for signal in signals],
            dropped=[
                DroppedValue(field=drop.field.value, reason=drop.reason.value)
                for drop in minimized.dropped
            ],
            naming_no_one=naming_no_one,
            events=events,
        )
        return web.json_response(answer.body(), status=202)

    def refused(self, problem: Problem) -> None:
        self.metrics.refused.labels(problem.reason).inc()
        tracing.annotate({"psb.reason": problem.reason})
        log.info("request refused", status=problem.status, reason=problem.reason, path=problem.path)


INGEST: Final = web.AppKey("ingest", Ingest)
ADMITTED: Final = web.RequestKey("admitted", Admitted)


Judge = Callable[[cloudevents.Payload, Minimized], None]
"""A route's handling of one payload: its signals into the :class:`Minimized`, or a
:class:`Problem`."""


def _payload(request: web.Request) -> cloudevents.Payload:
    ingest = request.app[INGEST]
    return cloudevents.unwrap(
        request.content_type,
        _params(request),
        request.headers,
        request[ADMITTED].body,
        ingest.settings.max_body_bytes,
    )


def _require(payload: cloudevents.Payload, accepted: frozenset[str]) -> None:
    if payload.media_type not in accepted:
        raise Problem(415, "unsupported-media-type", payload.media_type_from)


async def _answer(request: web.Request, judge: Judge) -> web.Response:
    """One payload, or with the batch media type each event of a batch."""
    ingest = request.app[INGEST]
    if request.content_type == cloudevents.BATCH:
        return await _batch(ingest, request[ADMITTED].body, judge)
    minimized = Minimized()
    judge(_payload(request), minimized)
    return await ingest.produce(minimized)


async def _batch(ingest: Ingest, body: bytes, judge: Judge) -> web.Response:
    """Every event judged alone; the accepted ones stored together, before the answer."""
    settings = ingest.settings
    events = cloudevents.batch(body, settings.max_body_bytes, settings.max_batch_events)
    outcomes: list[EventOutcome] = []
    accepted = Minimized()
    for index, event in enumerate(events):
        one = Minimized()
        try:
            judge(cloudevents.event_payload(event), one)
        except Problem as problem:
            ingest.refused(problem)
            outcomes.append(EventRefused(index=index, status="refused", problem=problem.model()))
            continue
        accepted.signals += one.signals
        accepted.dropped += one.dropped
        incident = one.signals[0].incident
        outcomes.append(EventAccepted(index=index, status="accepted", incident=incident))
    if not accepted.signals:
        raise Problem(422, "no-event-accepted", events=outcomes)
    return await ingest.produce(accepted, outcomes)


def _params(request: web.Request) -> dict[str, str]:
    _, _, rest = request.headers.get("Content-Type", "").partition(";")
    return cloudevents.media_params(rest)


def _document(ingest: Ingest, payload: cloudevents.Payload) -> dict[str, Any]:
    try:
        return load_document(payload.body, max_bytes=ingest.settings.max_body_bytes)
    except BoundaryError as error:
        raise Problem.from_boundary(error) from None


async def post_report(request: web.Request) -> web.Response:
    """Native report, or a FHIR AdverseEvent sent as such (``application/fhir+json``) or
    named by ``?format=``."""
    ingest = request.app[INGEST]
    raw_format = request.query.get("format")
    if raw_format is not None and raw_format not in InputFormat._value2member_map_:
        raise Problem(400, "unknown-format", "format")

    def judge(payload: cloudevents.Payload, into: Minimized) -> None:
        _require(payload, REPORT_MEDIA)
        ingest.minimize(_document(ingest, payload), _report_format(raw_format, payload), into)

    return await _answer(request, judge)


def _report_format(raw_format: str | None, payload: cloudevents.Payload) -> InputFormat:
    if raw_format is not None:
        return InputFormat(raw_format)
    return _fhir_format(payload) if payload.media_type == FHIR_JSON else InputFormat.NATIVE


def _fhir_format(payload: cloudevents.Payload) -> InputFormat:
    version = payload.params.get("fhirversion")
    if version is None:
        return InputFormat.AUTO
    if version not in FHIR_VERSIONS:
        raise Problem(415, "unsupported-media-type", f"{payload.media_type_from}.fhirVersion")
    return FHIR_VERSIONS[version]


async def post_adverse_event(request: web.Request) -> web.Response:
    """One FHIR AdverseEvent, R4/R4B or R5 (``fhirVersion`` parameter, else by shape)."""
    ingest = request.app[INGEST]

    def judge(payload: cloudevents.Payload, into: Minimized) -> None:
        _require(payload, REPORT_MEDIA)
        document = _document(ingest, payload)
        if document.get("resourceType") != "AdverseEvent":
            raise Problem(422, "unsupported-format", "resourceType")
        ingest.minimize(document, _fhir_format(payload), into)

    return await _answer(request, judge)


async def post_subscription(request: web.Request) -> web.Response:
    """A topic-based subscription notification Bundle (R5, R4B, R4 backport)."""
    ingest = request.app[INGEST]
    payload = _payload(request)
    _require(payload, REPORT_MEDIA)
    document = _document(ingest, payload)
    try:
        content = read_notification(document)
    except BoundaryError as error:
        raise Problem.from_boundary(error) from None
    ingest.metrics.notifications.labels(content.kind).inc()
    minimized = Minimized()
    for prefix, resource in content.resources:
        ingest.minimize(resource, content.fhir_format, minimized, prefix)
    for ref in content.references:
        if ingest.reader is None:
            raise Problem(422, "read-back-unconfigured", "notificationEvent.focus")
        raw = await ingest.reader.read(ref)
        if raw is None:
            continue  # deleted since the notification was sent: nothing to offer
        try:
            resource = load_document(raw, max_bytes=ingest.settings.max_body_bytes)
        except BoundaryError:
            raise Problem(502, "read-back-failed") from None
        if resource.get("resourceType") != "AdverseEvent":
            raise Problem(502, "read-back-failed")
        ingest.minimize(resource, content.fhir_format, minimized, "read-back.")
    if not minimized.signals:
        answer = Acknowledged(status="acknowledged", type=content.kind, accepted=0)
        return web.json_response(answer.body())
    return await ingest.produce(minimized)


async def live(_: web.Request) -> web.Response:
    return web.json_response(Live(status="live").body())


async def ready(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    broker = await asyncio.to_thread(ingest.producer.ready)
    directory = ingest.directory.ready.is_set()
    callers = ingest.auth.accepts_callers
    ok = broker and directory and callers
    answer = Ready(
        status="ready" if ok else "waiting", broker=broker, directory=directory, callers=callers
    )
    return web.json_response(answer.body(), status=200 if ok else 503)


async def metrics(request: web.Request) -> web.StreamResponse:
    return await metrics_handler(request.app[INGEST].metrics.registry)(request)


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(request.app[INGEST].settings.max_batch_events))


ROUTES: Final[tuple[tuple[str, str, Handler], ...]] = (
    ("POST", "/v1/reports", post_report),
    ("POST", "/fhir/AdverseEvent", post_adverse_event),
    ("POST", "/fhir/subscription", post_subscription),
    ("GET", "/health/live", live),
    ("GET", "/health/ready", ready),
    ("GET", "/metrics", metrics),
    ("GET", "/openapi.json", openapi),
)


async def not_found(_: web.Request) -> web.Response:
    raise Problem(404, "not-found")


def _not_allowed(allowed: str) -> Handler:
    async def refuse(_: web.Request) -> web.Response:
        raise Problem(405, "method-not-allowed", headers={"Allow": allowed})

    return refuse


async def _expect(request: web.Request) -> web.StreamResponse | None:
    """aiohttp's own expect handler sends 100 Continue before any check and quotes an
    unknown Expect value back; admission sends it once the headers passed."""
    if request.headers.get("Expect", "").lower() == "100-continue":
        return None
    return Problem(417, "expectation-failed", "Expect").response()


async def _name_server(_: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = SERVER_NAME


async def _admitted(request: web.Request, handler: Handler, gate: Gate) -> web.StreamResponse:
    """A POST's answer once admission let it in; a webhook id it claimed is given back
    unless the answer is a success, so the sender's retry is not taken for a replay."""
    if request.method != "POST" or request.path not in POST_ROUTES:
        return await handler(request)
    admitted = request[ADMITTED] = await gate.admit(request)
    try:
        response = await handler(request)
    except BaseException:
        gate.release(admitted)
        raise
    if response.status >= 300:
        gate.release(admitted)
    return response


@web.middleware
async def refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Admit a POST, then turn every refusal into a problem document, and count it."""
    ingest = request.app[INGEST]
    route = route_label(request)
    started = time.monotonic()
    try:
        response = await _admitted(request, handler, ingest.gate)
    except Problem as problem:
        response = problem.response()
        ingest.refused(problem)
    except web.HTTPNotFound:  # a request target no route can match, such as '*'
        response = Problem(404, "not-found").response()
    except web.HTTPException as exc:
        response = Problem(exc.status, "internal").response()
    except Exception as exc:  # a bug: answer without detail, log the type and frames only
        log.error("request failed", exc_info=exc)
        response = Problem(500, "internal").response()
    ingest.metrics.requests.labels(route, str(response.status)).inc()
    ingest.metrics.latency.labels(route).observe(time.monotonic() - started)
    return response


def create_app(
    settings: IngestSettings,
    boundary: BoundarySettings,
    kafka: KafkaSettings,
    fhir: FhirReadSettings | None = None,
    policy: PolicySettings | None = None,
) -> web.Application:
    """The policy's declared codes cross the boundary; a changed file is read again, as the
    worker does. Raises :class:`PolicyError` when the file cannot be read or accepted."""
    fhir = fhir or FhirReadSettings()
    policy = policy or PolicySettings()
    topics = Topics(kafka.topic_prefix)
    producer = SignalProducer(kafka, topics.incident_signals, settings.delivery_timeout_ms)
    directory = StaffView(topics.staff_directory, kafka, boundary.key())
    holder = PolicyHolder(policy.file)
    auth = Authenticator.from_settings(settings)
    ingest = Ingest(
        settings=settings,
        boundary=boundary,
        producer=producer,
        auth=auth,
        gate=Gate(settings, auth),
        metrics=IngestMetrics(),
        fhir=fhir,
        directory=directory,
        policy=holder,
        vocabulary=InstallationVocabulary(holder, boundary.sources, directory.units),
        reload_interval_s=policy.reload_interval_s,
    )
    # admission reads bodies within the limit; aiohttp would stop reading past it too
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[traced(), refusals])
    app[INGEST] = ingest
    for path in dict.fromkeys(path for _, path, _ in ROUTES):
        served = [(method, handler) for method, known, handler in ROUTES if known == path]
        for method, handler in served:
            app.router.add_route(method, path, handler, expect_handler=_expect)
        allowed = ",".join(method for method, _ in served)
        app.router.add_route("*", path, _not_allowed(allowed), expect_handler=_expect)
    app.router.add_route("*", "/{tail:.*}", not_found, name="other", expect_handler=_expect)
    app.on_response_prepare.append(_name_server)
    app.cleanup_ctx.append(_running)
    return app


async def _running(app: web.Application) -> AsyncIterator[None]:
    ingest = app[INGEST]
    ingest.producer.start()
    background = [
        asyncio.create_task(ingest.directory.run(), name="staff-directory"),
        asyncio.create_task(_reload_policy(ingest), name="policy"),
    ]
    async with aiohttp.ClientSession() as session:
        ingest.reader = FhirReader(ingest.fhir, session, ingest.settings.max_body_bytes)
        yield
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await asyncio.to_thread(ingest.producer.close)


async def _reload_policy(ingest: Ingest) -> None:
    while True:
        await asyncio.sleep(ingest.reload_interval_s)
        ingest.policy.reload_if_changed()
