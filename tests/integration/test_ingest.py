"""The ingest server as a reporting system meets it: a real process on a loopback port,
the real broker behind it, a stand-in FHIR server for id-only read-back.

Each input shape ends as signals on ``incident-signals``; handshakes and heartbeats end as
nothing; refusals are problem documents that never quote the input; a dead broker gives
503 with Retry-After.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cloudevents.core.bindings.http import to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from connectors.ingest.auth import SIGNATURE_HEADER, sign
from connectors.ingest.fhir_client import READ_BACK_ELEMENTS
from connectors.ingest.openapi import openapi_document
from runtime.broker import free_port
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas.boundary import pseudonymize
from schemas.policy import default_policy_text
from tests.conftest import SHARED
from tests.support.fhir_bundles import r4_backport_notification, r4b_notification, r5_notification
from tests.support.fhir_server import ACCESS_TOKEN, CLIENT_ID, FhirStandIn
from tests.unit.helpers import fixture, native_report
from tools.ingest import HMAC_SECRET, TOKEN, IngestProcess, webhook_headers
from tools.kafka import TopicReader, produce_keyed
from tools.worker import TEST_KEY, WorkerProcess, pseudonym

EXAMPLES = SHARED / "fhir-examples"
FHIR_JSON = "application/fhir+json"


def r4_event(number: int) -> dict[str, Any]:
    event = copy.deepcopy(fixture("r4-contributors.json"))
    event["id"] = f"r4-{number}"
    event["identifier"] = {"system": "urn:test", "value": f"R4-{number}"}
    return event


def r5_event(number: int) -> dict[str, Any]:
    event = copy.deepcopy(fixture("r5-participants.json"))
    event["id"] = f"r5-{number}"
    event["identifier"] = [{"system": "urn:test", "value": f"R5-{number}"}]
    return event


@pytest.fixture(scope="module")
def quiet(
    kafka_factory: Callable[..., KafkaSettings], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[KafkaSettings, IngestProcess]]:
    """An ingest server of its own, whose topic should stay empty."""
    own = kafka_factory(partitions=1)
    with IngestProcess(own, tmp_path_factory.mktemp("quiet")) as process:
        yield own, process


def signals_for(kafka: KafkaSettings, incidents: set[str]) -> list[dict[str, Any]]:
    """The signals of these incidents on incident-signals (waits for all of them)."""
    topic = Topics(kafka.topic_prefix).incident_signals
    reader = TopicReader(kafka, [topic])
    try:

        def seen() -> set[str]:
            return {json.loads(v)["incident"] for v in reader.values()}

        reader.poll_until(lambda _: incidents <= seen(), timeout=30)
        found = [json.loads(v) for v in reader.values()]
    finally:
        reader.close()
    return [signal for signal in found if signal["incident"] in incidents]


def structured(data: dict[str, Any], content_type: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "urn:test:reporting",
        "type": "no.example.incident.reported",
        "datacontenttype": content_type,
        "data": data,
    }


def binary_headers() -> dict[str, str]:
    return {
        "ce-specversion": "1.0",
        "ce-id": "evt-2",
        "ce-source": "urn:test:reporting",
        "ce-type": "no.example.incident.reported",
    }


SHAPES: dict[str, Callable[[], tuple[str, bytes, str, dict[str, str], int]]] = {
    # name -> (path, body, content type, extra headers, signals expected)
    "native": lambda: ("/v1/reports", json.dumps(native_report(report_id="S-1")).encode(),
                       "application/json", {}, 1),
    "fhir-r4": lambda: ("/fhir/AdverseEvent", json.dumps(r4_event(1)).encode(),
                        f"{FHIR_JSON}; fhirVersion=4.0", {}, 1),
    "fhir-r5": lambda: ("/fhir/AdverseEvent", json.dumps(r5_event(1)).encode(), FHIR_JSON, {}, 1),
    "cloudevent-structured-native": lambda: (
        "/v1/reports",
        json.dumps(structured(native_report(report_id="S-2"), "application/json")).encode(),
        "application/cloudevents+json", {}, 1),
    "cloudevent-binary-fhir": lambda: ("/fhir/AdverseEvent", json.dumps(r5_event(2)).encode(),
                                       FHIR_JSON, binary_headers(), 1),
    "cloudevent-base64-fhir": lambda: ("/fhir/AdverseEvent", json.dumps({
        **structured({}, FHIR_JSON), "data": None,
        "data_base64": base64.b64encode(json.dumps(r4_event(3)).encode()).decode()}).encode(),
        "application/cloudevents+json", {}, 1),
    "subscription-r5-full-resource": lambda: ("/fhir/subscription", json.dumps(
        r5_notification([r5_event(10), r5_event(11), r5_event(12)])).encode(), FHIR_JSON, {}, 3),
    "subscription-r4b-full-resource": lambda: ("/fhir/subscription", json.dumps(
        r4b_notification([r4_event(20), r4_event(21)])).encode(), FHIR_JSON, {}, 2),
    "subscription-r4-backport": lambda: ("/fhir/subscription", json.dumps(
        r4_backport_notification([r4_event(30), r4_event(31)])).encode(), FHIR_JSON, {}, 2),
    "cloudevent-binary-subscription": lambda: ("/fhir/subscription", json.dumps(
        r5_notification([r5_event(40), r5_event(41)])).encode(), FHIR_JSON, binary_headers(), 2),
}  # fmt: skip


@pytest.mark.parametrize("shape", list(SHAPES))
def test_each_input_shape_ends_as_signals_on_the_broker(
    shape: str, ingest: IngestProcess, kafka: KafkaSettings
) -> None:
    path, body, content_type, headers, expected = SHAPES[shape]()
    response = ingest.post(path, body, content_type, headers=headers)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["accepted"] == expected
    incidents = set(answer["incidents"])
    assert len(incidents) == expected
    signals = signals_for(kafka, incidents)
    assert {s["incident"] for s in signals} == incidents
    assert all(s["staff"] for s in signals), "staff references survive the boundary"


def test_id_only_notification_is_read_back_asking_only_for_the_boundarys_elements(
    ingest: IngestProcess, fhir: FhirStandIn, kafka: KafkaSettings
) -> None:
    fhir.resources["idonly-1"] = {**r5_event(50), "id": "idonly-1"}
    fhir.resources["idonly-2"] = {**r5_event(51), "id": "idonly-2"}
    bundle = r5_notification(ids=["idonly-1", "idonly-2"], base=fhir.base_url)
    response = ingest.post("/fhir/subscription", bundle, FHIR_JSON)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 2
    reads = [seen for seen in fhir.requests if seen.path.endswith(("idonly-1", "idonly-2"))]
    assert len(reads) == 2
    for seen in reads:
        assert seen.query["_elements"].split(",") == list(READ_BACK_ELEMENTS)
        assert seen.authorization == f"Bearer {ACCESS_TOKEN}"
    elements = set(READ_BACK_ELEMENTS)
    assert {"recorder", "participant", "contributor", "category", "seriousness", "outcome"} <= (
        elements
    )
    assert not elements & {"subject", "text", "note", "contained", "suspectEntity", "code"}
    assert fhir.tokens_issued == 1, "the access token is cached between read-backs"
    assert len(signals_for(kafka, set(response.json()["incidents"]))) == 2


def test_id_only_notification_for_a_deleted_event_writes_nothing(
    ingest: IngestProcess, fhir: FhirStandIn
) -> None:
    bundle = r4_backport_notification(ids=["gone-1"], base=fhir.base_url)
    event = bundle["entry"][0]["resource"]["parameter"][4]
    event["part"][1]["valueReference"]["reference"] = "AdverseEvent/gone-1"  # relative
    response = ingest.post("/fhir/subscription", bundle, FHIR_JSON)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 0


def test_id_only_notification_naming_another_server_is_refused(ingest: IngestProcess) -> None:
    bundle = r5_notification(ids=["x1"], base="http://elsewhere.example/fhir")
    response = ingest.post("/fhir/subscription", bundle, FHIR_JSON)
    assert response.status_code == 422
    assert "elsewhere" not in response.text


def official(path: str) -> dict[str, Any]:
    file = EXAMPLES / path
    if not file.is_file():
        pytest.skip(f"official examples not present at {EXAMPLES}")
    document: dict[str, Any] = json.loads(file.read_text())
    return document


@pytest.mark.parametrize(
    "example",
    [
        "R4B/notification-handshake.json",
        "R4B/notification-heartbeat.json",
        "R5-json/notification-handshake.json",
        "R5-json/notification-heartbeat.json",
        "R5-json/notification-query-status.json",
        "R5-json/notification-id-only.json",  # focus is an Encounter: not ours
        "R5-json/notification-full-resource.json",
    ],
)
def test_official_notifications_without_adverse_events_are_acknowledged_with_no_record(
    example: str, quiet: tuple[KafkaSettings, IngestProcess]
) -> None:
    own, process = quiet
    response = process.post("/fhir/subscription", official(example), FHIR_JSON)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 0
    reader = TopicReader(own, [Topics(own.topic_prefix).incident_signals])
    try:  # the server answers after the broker acknowledged what it wrote
        assert reader.read_to_end() == []
    finally:
        reader.close()


def test_broker_down_gives_503_with_retry_after(tmp_path: Path) -> None:
    nowhere = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}", topic_prefix="down.")
    env = {"PSB_INGEST_DELIVERY_TIMEOUT_MS": "1000", "PSB_INGEST_RETRY_AFTER_S": "7"}
    with IngestProcess(nowhere, tmp_path, env) as process:
        response = process.post("/v1/reports", native_report())
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "7"
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert response.json()["reason"] == "broker-unavailable"
        ready = httpx.get(f"{process.base_url}/health/ready", timeout=10)
        assert ready.status_code == 503


def test_a_standard_webhooks_signed_request_is_accepted(ingest: IngestProcess) -> None:
    body = json.dumps(native_report(report_id="SIGNED-1")).encode()
    response = ingest.post("/v1/reports", body, token=None, headers=webhook_headers(body))
    assert response.status_code == 202, response.text


def test_the_body_hmac_is_refused_unless_allowed(ingest: IngestProcess) -> None:
    """X-Signature-256 can be replayed: a server without PSB_INGEST_ALLOW_BODY_HMAC has no key
    for it, and refuses it even next to a right token."""
    body = json.dumps(native_report(report_id="SIGNED-2")).encode()
    signed = {SIGNATURE_HEADER: sign(HMAC_SECRET.encode(), body)}
    for token in (None, TOKEN):
        response = ingest.post("/v1/reports", body, token=token, headers=signed)
        assert response.status_code == 401, response.text
        assert response.json()["reason"] == "unverifiable-credential"


def test_rate_limits_per_credential_and_per_client_behind_trusted_proxies(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    env = {
        "PSB_INGEST_RATE_PER_SECOND": "0.1",
        "PSB_INGEST_RATE_BURST": "2",
        "PSB_INGEST_UNAUTHENTICATED_RATE_PER_SECOND": "0.1",
        "PSB_INGEST_UNAUTHENTICATED_BURST": "2",
        "PSB_INGEST_FORWARDED_ALLOW_IPS": "127.0.0.0/8, 10.1.0.0/16",
    }

    def from_client(address: str, token: str | None = None) -> httpx.Response:
        # the first entry is the caller's to invent; 10.1.0.7 is a trusted proxy's
        invented = f"203.0.113.{random.randrange(256)}"
        forwarded = {"X-Forwarded-For": f"{invented}, {address}, 10.1.0.7"}
        return process.post("/v1/reports", b"{}", token=token, headers=forwarded)

    with IngestProcess(kafka, tmp_path, env) as process:
        assert [from_client("192.0.2.1").status_code for _ in range(2)] == [401, 401]
        limited = from_client("192.0.2.1")
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["reason"] == "rate-limited"
        assert from_client("192.0.2.2").status_code == 401, "another client is not limited"
        # a credential has an allowance of its own, which no address's refusals touch
        assert [from_client("192.0.2.1", TOKEN).status_code for _ in range(2)] == [422, 422]
        assert from_client("192.0.2.3", TOKEN).status_code == 429, "limited per credential"
        assert httpx.get(f"{process.base_url}/health/live").status_code == 200


def test_openapi_document_is_served_and_every_path_answers(ingest: IngestProcess) -> None:
    served = httpx.get(f"{ingest.base_url}/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(openapi_document()))
    for path, operations in served.json()["paths"].items():
        for method in operations:
            response = httpx.request(method.upper(), f"{ingest.base_url}{path}", timeout=10)
            assert response.status_code not in (404, 405), (method, path)


def test_metrics_count_requests_and_signals(ingest: IngestProcess) -> None:
    before = time.time()
    ingest.post("/v1/reports", native_report(report_id="M-1"))
    assert httpx.delete(f"{ingest.base_url}/v1/reports", timeout=10).status_code == 405
    assert httpx.get(f"{ingest.base_url}/no/such/M-1-path", timeout=10).status_code == 404
    scrape = httpx.get(f"{ingest.base_url}/metrics", timeout=10)
    assert scrape.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = scrape.text
    assert 'psb_ingest_signals_total{format="native"}' in text
    assert 'psb_ingest_requests_total{route="/v1/reports",status="202"}' in text
    assert 'psb_ingest_requests_total{route="/v1/reports",status="405"}' in text
    assert 'psb_ingest_requests_total{route="unmatched",status="404"}' in text
    assert "M-1-path" not in text  # an unknown path is never a label
    for family in ("process_cpu_seconds_total", "python_info", "psb_build_info"):
        assert f"\n{family}" in text, family
    heartbeat = next(
        line for line in text.splitlines() if line.startswith("psb_source_last_report_timestamp")
    )
    assert float(heartbeat.split()[-1]) >= before - 1


def test_an_ingested_report_reaches_the_worker_and_becomes_offers(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    """Signals produced at the edge are what the worker's offers agent reads: the worker's
    minimize agent is bypassed, and nothing raw is on incident-reports."""
    own = kafka_factory()
    topics = Topics(own.topic_prefix)
    profiles = [
        (
            ref,
            json.dumps(
                {
                    "staff_ref": ref,
                    "profession": "nurse",
                    "unit_code": "MED-3",
                    "channels": [{"channel": "email", "address": f"{ref}@sykehus.example"}],
                }
            ),
        )
        for ref in ("emp-1", "emp-2")
    ]
    produce_keyed(own, topics.staff_directory, profiles)
    worker = WorkerProcess(own, f"ingest-{uuid.uuid4().hex[:8]}", tmp_path).start()
    try:
        with IngestProcess(own, tmp_path) as process:
            response = process.post("/v1/reports", native_report(report_id="W-1"))
            assert response.status_code == 202, response.text
        reader = TopicReader(own, [topics.support_offers, topics.incident_reports])
        try:
            reader.poll_until(lambda found: len(found) >= 2, timeout=60)
            messages = reader.read_to_end()  # one signal: its offers come in one go
        finally:
            reader.close()
        assert {m.topic() for m in messages} == {topics.support_offers}
        offered = {json.loads(m.value() or b"{}")["person"] for m in messages}
        assert offered == {pseudonym("emp-1"), pseudonym("emp-2")}  # witnesses are not
    finally:
        worker.stop()


def test_id_only_read_back_with_smart_backend_services_signed_assertion(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    """With a private key configured, the token is obtained with a signed client assertion
    (private_key_jwt, ES384) instead of a client secret."""
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with FhirStandIn(public_key=key.public_key()) as server:
        server.resources["smart-1"] = {**r5_event(60), "id": "smart-1"}
        env = {
            "PSB_INGEST_FHIR_BASE_URL": server.base_url,
            "PSB_INGEST_FHIR_TOKEN_URL": server.token_url,
            "PSB_INGEST_FHIR_CLIENT_ID": CLIENT_ID,
            "PSB_INGEST_FHIR_PRIVATE_KEY": pem,
            "PSB_INGEST_FHIR_KEY_ID": "psb-key-1",
        }
        with IngestProcess(kafka, tmp_path, env) as process:
            bundle = r5_notification(ids=["smart-1"], base=server.base_url)
            response = process.post("/fhir/subscription", bundle, FHIR_JSON)
            assert response.status_code == 202, response.text
        (assertion,) = server.assertions
        assert assertion["sub"] == CLIENT_ID and assertion["kid"] == "psb-key-1"
        assert assertion["exp"] - assertion["iat"] <= 300 and assertion["jti"]
        assert [seen.authorization for seen in server.requests] == [f"Bearer {ACCESS_TOKEN}"]


@pytest.mark.parametrize(
    ("example", "event"),
    [
        ("R4B/notification-full-resource.json", r4_event),
        ("R5-json/notification-full-resource.json", r5_event),
    ],
)
def test_official_full_resource_notification_carrying_adverse_events(
    example: str,
    event: Callable[[int], dict[str, Any]],
    ingest: IngestProcess,
    kafka: KafkaSettings,
) -> None:
    """The official notification, its Encounter swapped for two AdverseEvents."""
    bundle = official(example)
    status_entry = bundle["entry"][0]
    template = status_entry["resource"]["notificationEvent"][0]
    events = [event(70 + n) for n in range(2)]
    urls = [f"http://example.org/FHIR/AdverseEvent/{e['id']}" for e in events]
    status_entry["resource"]["notificationEvent"] = [
        {**template, "focus": {"reference": url}} for url in urls
    ]
    bundle["entry"] = [status_entry] + [
        {"fullUrl": url, "resource": e} for url, e in zip(urls, events, strict=True)
    ]
    response = ingest.post("/fhir/subscription", bundle, FHIR_JSON)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 2
    assert len(signals_for(kafka, set(response.json()["incidents"]))) == 2


def test_codes_cross_as_the_policy_and_the_directory_know_them(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    """The ingest server judges codes with the installation's vocabulary: the policy's
    declared codes (read again when the file changes), the units of people in the directory
    and the configured sources; anything else is dropped and named by field and reason."""
    own = kafka_factory()
    topics = Topics(own.topic_prefix)
    person = {"staff_ref": "emp-1", "profession": "nurse", "unit_code": "KIR-2"}
    produce_keyed(own, topics.staff_directory, [("emp-1", json.dumps(person))])
    policy = tmp_path / "policy.yaml"
    policy.write_text(default_policy_text().replace("units: []", "units: [LAB-1]", 1))
    env = {
        "PSB_POLICY_FILE": str(policy),
        "PSB_POLICY_RELOAD_INTERVAL_S": "0.2",
        "PSB_SOURCE_SYSTEMS": "avvik-test",
    }
    with IngestProcess(own, tmp_path, env) as process:
        ready = httpx.get(f"{process.base_url}/health/ready", timeout=10)
        deadline = time.monotonic() + 30
        while ready.status_code != 200:  # the directory is loaded before it is ready
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.2)
            ready = httpx.get(f"{process.base_url}/health/ready", timeout=10)

        def sent(**changes: Any) -> dict[str, Any]:
            report = native_report(report_id=uuid.uuid4().hex, **changes)
            response = process.post("/v1/reports", report)
            assert response.status_code == 202, response.text
            answer: dict[str, Any] = response.json()
            return answer

        assert sent(unit_code="LAB-1")["dropped"] == []  # the policy declares it
        assert sent(unit_code="KIR-2")["dropped"] == []  # someone in the directory is in it
        refused = sent(unit_code="ICU-9", category_codes=["fall", "15076500565"])
        assert sorted(map(tuple, (d.values() for d in refused["dropped"]))) == [
            ("category_codes", "national-identity-number"),
            ("category_codes", "unknown-code"),
            ("unit_code", "unknown-code"),
        ]
        policy.write_text(policy.read_text().replace("categories: []", "categories: [fall]", 1))
        deadline = time.monotonic() + 10
        while sent(unit_code="LAB-1", category_codes=["fall"])["dropped"]:  # now declared
            assert time.monotonic() < deadline, "the changed policy was not read"
            time.sleep(0.3)
        policy.write_text(
            policy.read_text().replace("minimum_severity: none", "minimum_severity: x", 1)
        )

        def metrics_page() -> str:
            return httpx.get(f"{process.base_url}/metrics", timeout=10).text

        deadline = time.monotonic() + 10
        while "psb_policy_reload_refused_total 1.0" not in (metrics := metrics_page()):
            assert time.monotonic() < deadline, "the invalid policy was not counted"
            time.sleep(0.2)
        assert sent(unit_code="LAB-1", category_codes=["fall"])["dropped"] == []  # still in force
    assert 'psb_ingest_dropped_total{field="unit_code",reason="unknown-code"}' in metrics
    reader = TopicReader(own, [topics.incident_signals])
    try:
        reader.read_to_end()  # each report was answered after the broker acknowledged it
        signals = [json.loads(value) for value in reader.values()]
    finally:
        reader.close()
    assert {signal["unit_code"] for signal in signals} == {"LAB-1", "KIR-2", None}
    assert "15076500565" not in json.dumps(signals)


SHIPPED = sorted(
    (Path(__file__).resolve().parents[2] / "peer_support/samples").glob("subscriptions/*")
)
SAMPLE_BASE = "https://fhir.sykehus.example/fhir"


@pytest.mark.parametrize("sample", SHIPPED, ids=[p.name for p in SHIPPED])
def test_the_shipped_subscription_samples_are_accepted(
    sample: Path, ingest: IngestProcess, fhir: FhirStandIn, kafka: KafkaSettings
) -> None:
    """As an integrator sends them (id-only ones pointed at the server we read back from)."""
    bundle = json.loads(sample.read_text().replace(SAMPLE_BASE, fhir.base_url))
    if sample.name.endswith("id-only.json"):
        full = json.loads(
            sample.with_name(sample.name.replace("id-only", "full-resource")).read_text()
        )
        event = full["entry"][1]["resource"]
        fhir.resources[event["id"]] = event
    response = ingest.post("/fhir/subscription", bundle, FHIR_JSON)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 1
    signals = signals_for(kafka, set(response.json()["incidents"]))
    assert all(signal["staff"] for signal in signals), "the sample's staff reach the signal"


BATCH = "application/cloudevents-batch+json"


def sdk_event(data: dict[str, Any], content_type: str = "application/json") -> CloudEvent:
    attributes = {"type": "no.example.incident.reported", "source": "urn:test:reporting"}
    return CloudEvent({**attributes, "datacontenttype": content_type}, data)


def sdk_binary(event: CloudEvent) -> tuple[bytes, str, dict[str, str]]:
    """Body, Content-Type and ce-* headers, as the SDK's binary mode gives them."""
    message = to_binary(event, JSONFormat())
    headers = {k: v for k, v in message.headers.items() if k.lower() != "content-type"}
    return message.body, message.headers["content-type"], headers


def sdk_batch(*events: CloudEvent) -> bytes:
    """A JSON batch as the CloudEvents JSON format defines it: an array of structured events
    (the SDK has no batch writer, so each event is the SDK's structured output)."""
    return b"[" + b",".join(to_structured(event, JSONFormat()).body for event in events) + b"]"


def test_cloudevents_sdk_structured_binary_and_batch_reach_the_broker(
    ingest: IngestProcess, kafka: KafkaSettings
) -> None:
    structured_message = to_structured(sdk_event(native_report(report_id="CE-1")), JSONFormat())
    answers = [
        ingest.post(
            "/v1/reports", structured_message.body, structured_message.headers["content-type"]
        )
    ]
    body, content_type, headers = sdk_binary(
        sdk_event(r5_event(80), f"{FHIR_JSON}; fhirVersion=5.0")
    )
    answers.append(ingest.post("/fhir/AdverseEvent", body, content_type, headers=headers))
    batch = sdk_batch(
        sdk_event(native_report(report_id="CE-2")), sdk_event(r4_event(81), FHIR_JSON)
    )
    answers.append(ingest.post("/v1/reports", batch, BATCH))
    answers.append(
        ingest.post("/fhir/AdverseEvent", sdk_batch(sdk_event(r5_event(82), FHIR_JSON)), BATCH)
    )
    assert [answer.status_code for answer in answers] == [202] * 4, answers[-1].text
    batched = answers[2].json()
    assert batched["accepted"] == 2
    assert [(e["index"], e["status"]) for e in batched["events"]] == [
        (0, "accepted"),
        (1, "accepted"),
    ]
    assert [e["incident"] for e in batched["events"]] == batched["incidents"]
    incidents = {incident for answer in answers for incident in answer.json()["incidents"]}
    assert len(incidents) == 5
    assert {s["incident"] for s in signals_for(kafka, incidents)} == incidents


def incidents_after(kafka: KafkaSettings, incidents: set[str]) -> set[str]:
    """Every incident on incident-signals once these are there."""
    reader = TopicReader(kafka, [Topics(kafka.topic_prefix).incident_signals])
    try:

        def seen() -> set[str]:
            return {json.loads(v)["incident"] for v in reader.values()}

        reader.poll_until(lambda _: incidents <= seen(), timeout=30)
        return seen()
    finally:
        reader.close()


def test_each_event_of_a_batch_is_judged_on_its_own(
    ingest: IngestProcess, kafka: KafkaSettings
) -> None:
    process = ingest
    told = "Ola Testpasient 01017012345"
    events = [
        sdk_event(native_report(report_id="B-1")),
        sdk_event({**native_report(report_id="B-2", title=told), "reported_at": None}),
        sdk_event(r4_event(90), f"{FHIR_JSON}; fhirVersion=4.0"),
        sdk_event({"resourceType": "Patient", "name": [{"text": told}]}, FHIR_JSON),
    ]
    response = process.post("/v1/reports", sdk_batch(*events), BATCH)
    assert response.status_code == 202, response.text
    answer = response.json()
    outcomes = [
        (e["index"], e["status"], e.get("problem", {}).get("field")) for e in answer["events"]
    ]
    assert outcomes == [
        (0, "accepted", None),
        (1, "refused", "reported_at"),
        (2, "accepted", None),
        (3, "refused", "$"),
    ]
    assert answer["events"][1]["problem"]["reason"] == "invalid-datetime"
    assert answer["accepted"] == 2 and len(answer["incidents"]) == 2
    assert "Testpasient" not in response.text and "01017012345" not in response.text
    refused_incident = pseudonymize(TEST_KEY, "avvik-test", "B-2")
    assert refused_incident not in incidents_after(kafka, set(answer["incidents"]))

    refused = process.post("/v1/reports", sdk_batch(events[1], events[3]), BATCH)
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["reason"] == "no-event-accepted"
    assert [e["status"] for e in problem["events"]] == ["refused", "refused"]
    assert "Testpasient" not in refused.text

    too_many = process.post("/v1/reports", sdk_batch(*[events[0]] * 101), BATCH)
    assert too_many.status_code == 413
    assert too_many.json()["reason"] == "batch-too-large"
    not_a_batch = process.post("/v1/reports", b"{}", BATCH)
    assert (not_a_batch.status_code, not_a_batch.json()["reason"]) == (400, "invalid-batch")
    subscription = process.post("/fhir/subscription", sdk_batch(events[0]), BATCH)
    assert subscription.status_code == 415


def naming_no_one_count(ingest: IngestProcess) -> float:
    metrics = httpx.get(f"{ingest.base_url}/metrics", timeout=10).text
    (line,) = [
        x for x in metrics.splitlines() if x.startswith("psb_ingest_signals_naming_no_one_total")
    ]
    return float(line.split()[-1])


def test_a_report_naming_no_one_is_stored_and_counted_as_such(ingest: IngestProcess) -> None:
    before = naming_no_one_count(ingest)
    event = r4_event(77)
    event["recorder"] = {"display": "Ingrid Berg"}  # a name, no reference
    event.pop("contributor", None)
    response = ingest.post("/fhir/AdverseEvent", event, FHIR_JSON)
    assert response.status_code == 202, response.text
    assert (response.json()["accepted"], response.json()["naming_no_one"]) == (1, 1)
    named = ingest.post("/fhir/AdverseEvent", r4_event(78), FHIR_JSON)
    assert named.json()["naming_no_one"] == 0
    assert naming_no_one_count(ingest) == before + 1
