"""The ingest server's single-purpose parts: notification reading, CloudEvents unwrapping,
authentication and Standard Webhooks, rate limits and client addresses, settings, read-back
ids, problem documents, and the OpenAPI document's routes."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import ValidationError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from connectors.ingest import webhooks
from connectors.ingest.app import ROUTES
from connectors.ingest.auth import SIGNATURE_HEADER, Authenticator, sign
from connectors.ingest.bodies import BodyBudget
from connectors.ingest.cloudevents import batch, event_payload, unwrap
from connectors.ingest.fhir_client import FhirReader, valid_id
from connectors.ingest.forwarded import client_address
from connectors.ingest.notifications import AdverseEventRef, read_notification
from connectors.ingest.openapi import openapi_document
from connectors.ingest.parser_errors import WRITTEN_FOR
from connectors.ingest.problems import Problem
from connectors.ingest.ratelimit import RateLimiter
from connectors.ingest.settings import FhirReadSettings, IngestSettings, parse_networks, webhook_key
from connectors.ingest.webhooks import ReplayCache, WebhookHeaders, WebhookVerifier
from peer_support.settings_errors import describe
from schemas.boundary import BoundaryError, InputFormat
from schemas.dead_letter import Reason
from tests.conftest import SHARED
from tests.support.fhir_bundles import r4_backport_notification, r4b_notification, r5_notification
from tests.unit.helpers import fixture

EXAMPLES = SHARED / "fhir-examples"


def official(path: str) -> dict[str, Any]:
    file = EXAMPLES / path
    if not file.is_file():
        pytest.skip(f"official examples not present at {EXAMPLES}")
    document: dict[str, Any] = json.loads(file.read_text())
    return document


@pytest.mark.parametrize(
    ("example", "kind"),
    [
        ("R4B/notification-handshake.json", "handshake"),
        ("R4B/notification-heartbeat.json", "heartbeat"),
        ("R4B/notification-empty.json", "event-notification"),
        ("R5-json/notification-handshake.json", "handshake"),
        ("R5-json/notification-heartbeat.json", "heartbeat"),
        ("R5-json/notification-id-only.json", "event-notification"),
        ("R5-json/notification-full-resource-with-patient.json", "event-notification"),
        ("R5-json/notification-query-event.json", "query-event"),
    ],
)
def test_official_notifications_are_read_and_name_no_adverse_event(example: str, kind: str) -> None:
    content = read_notification(official(example))
    assert content.kind == kind
    assert content.resources == [] and content.references == []


@pytest.mark.parametrize(
    ("build", "fmt"),
    [
        (r5_notification, InputFormat.FHIR_R5),
        (r4b_notification, InputFormat.FHIR_R4),
        (r4_backport_notification, InputFormat.FHIR_R4),
    ],
)
def test_full_resource_and_id_only_events_are_told_apart(build: Any, fmt: InputFormat) -> None:
    events = [{**fixture("r5-participants.json"), "id": f"e{n}"} for n in range(3)]
    content = read_notification(build(events, ["x1", "x2"], base="https://fhir.example/r"))
    assert content.fhir_format is fmt
    assert [prefix for prefix, _ in content.resources] == [
        "entry.1.resource.",
        "entry.2.resource.",
        "entry.3.resource.",
    ]
    assert content.references == [
        AdverseEventRef("https://fhir.example/r", "x1"),
        AdverseEventRef("https://fhir.example/r", "x2"),
    ]


def test_a_bundle_of_another_kind_is_refused_with_a_path() -> None:
    with pytest.raises(BoundaryError) as caught:
        read_notification({"resourceType": "Bundle", "type": "MRKSECRET", "entry": [{}]})
    assert caught.value.path == "type" and "MRKSECRET" not in str(caught.value)
    with pytest.raises(BoundaryError) as caught:
        read_notification(r5_notification(kind="MRKSECRET"))
    assert caught.value.reason is Reason.NOT_ALLOWED_VALUE


def test_structured_cloudevent_gives_its_data_and_media_type() -> None:
    event = {
        "specversion": "1.0",
        "id": "1",
        "source": "s",
        "type": "t",
        "datacontenttype": "application/fhir+json; fhirVersion=5.0",
        "data": {"resourceType": "AdverseEvent"},
    }
    payload = unwrap("application/cloudevents+json", {}, {}, json.dumps(event).encode(), 10_000)
    assert payload.cloudevent
    assert payload.media_type == "application/fhir+json"
    assert payload.params == {"fhirversion": "5.0"}
    assert json.loads(payload.body) == {"resourceType": "AdverseEvent"}


def test_binary_cloudevent_needs_its_attributes() -> None:
    headers = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "s"}
    with pytest.raises(Problem) as caught:
        unwrap("application/json", {}, headers, b"{}", 10_000)
    assert caught.value.status == 400 and caught.value.path == "ce-type"
    payload = unwrap("application/json", {}, {**headers, "ce-type": "t"}, b"{}", 10_000)
    assert payload.cloudevent and payload.body == b"{}"


def test_a_batch_is_refused_where_a_single_payload_is_expected() -> None:
    """Subscription notifications come one at a time; only the report routes take batches."""
    with pytest.raises(Problem) as caught:
        unwrap("application/cloudevents-batch+json", {}, {}, b"[]", 10_000)
    assert caught.value.status == 415


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"", 400, "empty"),
        (b'[{"id": "Ola Testpasient"', 400, "invalid-json"),
        (b'[{"id": 1, "id": 2}]', 400, "duplicate-key"),
        (b"[]", 400, "invalid-batch"),
        (b'{"specversion": "1.0"}', 400, "invalid-batch"),
        (b"[" + b",".join([b"{}"] * 4) + b"]", 413, "batch-too-large"),
        (b"[" + b" " * 20_000 + b"]", 413, "too-large"),
    ],
)
def test_a_body_that_is_no_batch_is_refused_as_a_whole(
    body: bytes, status: int, reason: str
) -> None:
    with pytest.raises(Problem) as caught:
        batch(body, 10_000, max_events=3)
    assert (caught.value.status, caught.value.reason) == (status, reason)
    assert "Testpasient" not in json.dumps(caught.value.document())


def test_each_event_of_a_batch_gives_its_own_payload_or_problem() -> None:
    event = {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": {"a": 1}}
    events = batch(json.dumps([event, {**event, "id": ""}, "not an event"]).encode(), 10_000, 3)
    assert json.loads(event_payload(events[0]).body) == {"a": 1}
    for refused, field in ((events[1], "id"), (events[2], None)):
        with pytest.raises(Problem) as caught:
            event_payload(refused)
        assert (caught.value.status, caught.value.path) == (400, field)


KEY = b"webhook-key-of-the-unit-tests-0123456789"
NOW = 1_800_000_000.0


def verifier(now: list[float] | None = None) -> WebhookVerifier:
    clock = now or [NOW]
    return WebhookVerifier(KEY, tolerance_s=300, clock=lambda: clock[0])


AUTH = Authenticator(token=b"right-token", hmac_secret=b"hmac-key", webhook=verifier())


def check(auth: Authenticator, headers: dict[str, str], body: bytes) -> None:
    auth.verify(auth.screen(headers), body)


def signed(body: bytes, msg_id: str = "msg_1", at: int = int(NOW)) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(at),
        "webhook-signature": webhooks.sign(KEY, msg_id, at, body),
    }


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "unauthorized"),
        ({"Authorization": "Bearer wrong-token"}, "unauthorized"),
        ({"Authorization": "Basic right-token"}, "unauthorized"),
        ({"Authorization": "Bearer right-token\udcff"}, "malformed-credentials"),
        ({SIGNATURE_HEADER: "sha256=00"}, "malformed-credentials"),
        ({SIGNATURE_HEADER: sign(b"other-key", b"body")}, "bad-signature"),
        ({**signed(b"other body")}, "bad-signature"),
        ({**signed(b"body", at=int(NOW) - 301)}, "stale-signature"),
        ({**signed(b"body"), "webhook-signature": "v1,!!"}, "malformed-credentials"),
        ({"webhook-id": "msg_1"}, "malformed-credentials"),
        # every credential sent must verify: a right token does not excuse a wrong signature
        ({"Authorization": "Bearer right-token", SIGNATURE_HEADER: sign(b"x", b"body")},
         "bad-signature"),
        ({"Authorization": "Bearer right-token", **signed(b"other")}, "bad-signature"),
    ],
)  # fmt: skip
def test_wrong_or_missing_credentials_are_refused(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(Problem) as caught:
        check(AUTH, headers, b"body")
    assert (caught.value.status, caught.value.reason) == (401, reason)


def test_right_credentials_pass() -> None:
    check(AUTH, {"Authorization": "Bearer right-token"}, b"body")
    check(AUTH, {SIGNATURE_HEADER: sign(b"hmac-key", b"body")}, b"body")
    check(AUTH, signed(b"body", msg_id="msg_pass"), b"body")
    both = {"Authorization": "Bearer right-token", **signed(b"body", msg_id="msg_both")}
    assert AUTH.screen(both).authenticated
    check(Authenticator(None, allow_unauthenticated=True), {}, b"body")


def test_a_credential_without_a_key_to_check_it_is_refused() -> None:
    only_token = Authenticator(token=b"right-token")
    for header in ({SIGNATURE_HEADER: sign(b"k", b"b")}, signed(b"b")):
        with pytest.raises(Problem) as caught:
            only_token.screen({"Authorization": "Bearer right-token", **header})
        assert caught.value.reason == "unverifiable-credential"


def test_a_server_that_accepts_nobody_says_so() -> None:
    assert not Authenticator(None).accepts_callers
    assert Authenticator(None, webhook=verifier()).accepts_callers


def test_webhook_signatures_agree_with_the_reference_implementation() -> None:
    """The standardwebhooks package signs and verifies what this module does."""
    secret = "whsec_" + base64.b64encode(KEY).decode()
    reference = Webhook(secret)
    body = b'{"report_id": "\xc3\xa6-1"}'
    at = datetime.fromtimestamp(NOW, UTC)
    assert webhook_key(secret) == KEY == webhook_key(base64.b64encode(KEY).decode())
    assert reference.sign("msg_ref", at, body.decode()) == webhooks.sign(
        KEY, "msg_ref", int(NOW), body
    )
    ours = WebhookVerifier(webhook_key(secret), 300, clock=time.time)
    now = int(time.time())
    headers = {
        "webhook-id": "msg_ref",
        "webhook-timestamp": str(now),
        "webhook-signature": "v1a,ignored "
        + reference.sign("msg_ref", datetime.fromtimestamp(now, UTC), body.decode()),
    }
    parsed = WebhookHeaders.parse(headers)
    assert parsed is not None
    ours.verify(parsed, body)
    reference.verify(
        body, {**headers, "webhook-signature": webhooks.sign(KEY, "msg_ref", now, body)}
    )
    with pytest.raises(WebhookVerificationError):
        reference.verify(
            body, {**headers, "webhook-signature": webhooks.sign(KEY, "msg_x", now, body)}
        )


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*webhooks.HEADERS, "Authorization", SIGNATURE_HEADER]),
        st.text(
            alphabet=st.characters(codec=None, exclude_categories=["Cs"]) | st.just("\udcff"),
            max_size=80,
        ),
    )
)
def test_any_credential_header_is_accepted_or_refused_with_a_problem(
    headers: dict[str, str],
) -> None:
    """Never another exception (the 500 of issue 20): values are fuzzed, surrogates too."""
    try:
        check(AUTH, headers, b"body")
    except Problem as problem:
        assert problem.status in (400, 401, 409)


def test_a_webhook_id_is_used_once_while_its_timestamp_is_in_the_window() -> None:
    now = [NOW]
    webhook = verifier(now)
    auth = Authenticator(None, webhook=webhook)
    body = b"body"
    screened = auth.screen(signed(body, msg_id="msg_once"))
    auth.verify(screened, body)
    assert auth.claim(screened) == "msg_once"
    for step in (auth.screen, lambda headers: auth.claim(auth.screen(headers))):
        with pytest.raises(Problem) as caught:
            step(signed(body, msg_id="msg_once"))
        assert (caught.value.status, caught.value.reason) == (409, "replayed")
    webhook.replays.release("msg_once")  # its request failed: the sender may retry
    auth.claim(auth.screen(signed(body, msg_id="msg_once")))
    now[0] = NOW + 302
    assert len(webhook.replays) == 1 and not webhook.replays.seen("msg_once")
    assert len(webhook.replays) == 0, "forgotten once the timestamp left the window"
    with pytest.raises(Problem) as caught:
        auth.screen(signed(body, msg_id="msg_once"))
    assert caught.value.reason == "stale-signature"


def test_the_replay_cache_refuses_rather_than_forgets_when_full() -> None:
    cache = ReplayCache(capacity=2, clock=lambda: NOW)
    assert cache.claim("a", NOW + 10) and cache.claim("b", NOW + 10)
    with pytest.raises(Problem) as caught:
        cache.claim("c", NOW + 10)
    assert caught.value.status == 503
    assert not cache.claim("a", NOW + 10)


def test_rate_limit_is_per_key_refills_and_refunds() -> None:
    now = [0.0]
    limiter = RateLimiter(rate_per_second=1.0, burst=2, clock=lambda: now[0])
    assert [limiter.acquire("a") for _ in range(2)] == [0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(1.0)
    assert limiter.acquire("b") == 0.0
    now[0] = 1.0
    assert limiter.acquire("a") == 0.0
    limiter.refund("a")
    assert limiter.acquire("a") == 0.0
    assert RateLimiter.retry_after(0.2) == "1"


PROXIES = parse_networks("10.0.0.0/8, fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # not a proxy: its header is ignored
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["1.1.1.1, 192.0.2.7"], "192.0.2.7"),  # the proxy's own entry counts
        ("10.0.0.2", ["1.1.1.1, 192.0.2.7, 10.9.9.9"], "192.0.2.7"),  # past another proxy
        ("10.0.0.2", ["1.1.1.1", "192.0.2.7"], "192.0.2.7"),  # the header sent twice
        ("10.0.0.2", ["10.1.1.1, 10.2.2.2"], "10.1.1.1"),  # proxies all the way
        ("10.0.0.2", ["garbage\udcff"], "garbage\udcff"),
        ("fd00::1", ["2001:0db8::0001"], "2001:db8::1"),
        (None, ["192.0.2.7"], "unknown"),
    ],
)
def test_the_client_is_the_address_the_trusted_proxies_saw(
    peer: str | None, forwarded: list[str], client: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == client
    assert client_address(peer, forwarded, ()) == (peer or "unknown")


def test_bodies_awaiting_their_signature_share_a_budget() -> None:
    budget = BodyBudget(bodies=2, max_bytes=100, retry_after_s=7)
    with budget.hold(60):
        with pytest.raises(Problem) as caught, budget.hold(41):
            pass
        assert caught.value.status == 503 and caught.value.headers["Retry-After"] == "7"
        with budget.hold(40), pytest.raises(Problem), budget.hold(0):
            pass  # two bodies at once at most
    assert (budget.held_bodies, budget.held_bytes) == (0, 0)


def test_problem_document_holds_codes_only() -> None:
    problem = Problem.from_boundary(BoundaryError(Reason.MISSING, "staff.0.role"), "entry.2.")
    document = problem.document()
    assert document["status"] == 422
    assert document["field"] == "entry.2.staff.0.role"
    assert document["type"] == "urn:peer-support-bridge:problem:missing"
    too_large = Problem.from_boundary(BoundaryError(Reason.TOO_LARGE))
    assert too_large.status == 413


def test_openapi_documents_exactly_the_routes_served() -> None:
    document = openapi_document()
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    served = {(method, path) for method, path, _ in ROUTES}
    assert documented == served
    assert document["openapi"].startswith("3.1")


def test_ingest_refuses_to_start_without_a_way_to_check_callers() -> None:
    with pytest.raises(ValidationError) as caught:
        IngestSettings()
    (line,) = describe(caught.value, IngestSettings)
    assert "PSB_INGEST_TOKEN or PSB_INGEST_WEBHOOK_SECRET" in line
    assert IngestSettings(allow_unauthenticated=True).token is None


LONG = "a-secret-of-forty-characters-0123456789"
WHSEC = "whsec_" + base64.b64encode(b"k" * 32).decode()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"token": ""}, "PSB_INGEST_TOKEN is empty: set at least 32 random bytes, or unset it"),
        ({"token": "MRKSHORT"}, "PSB_INGEST_TOKEN must be at least 32 bytes"),
        ({"token": LONG + " x"}, "PSB_INGEST_TOKEN must be visible ASCII characters only"),
        ({"webhook_secret": ""}, "PSB_INGEST_WEBHOOK_SECRET is empty"),
        ({"webhook_secret": "whsec_" + base64.b64encode(b"MRK" * 10).decode()},
         "PSB_INGEST_WEBHOOK_SECRET must encode at least 32 bytes"),
        ({"webhook_secret": "whsec_MRK*"}, "PSB_INGEST_WEBHOOK_SECRET must be 'whsec_' and base64"),
        ({"token": LONG, "hmac_secret": LONG}, "PSB_INGEST_ALLOW_BODY_HMAC=true"),
        ({"token": LONG, "hmac_secret": "MRKSHORT", "allow_body_hmac": True},
         "PSB_INGEST_HMAC_SECRET must be at least 32 bytes"),
        ({"token": LONG, "allow_body_hmac": True}, "needs PSB_INGEST_HMAC_SECRET"),
        ({"token": LONG, "trust_forwarded_for": True},
         "PSB_INGEST_TRUST_FORWARDED_FOR is replaced by PSB_INGEST_FORWARDED_ALLOW_IPS"),
        ({"token": LONG, "unverified_bytes": 2048, "max_body_bytes": 4096},
         "PSB_INGEST_UNVERIFIED_BYTES must be at least PSB_INGEST_MAX_BODY_BYTES"),
    ],
)  # fmt: skip
def test_settings_that_cannot_hold_are_refused_in_one_line(
    values: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        IngestSettings(**values)
    (line,) = describe(caught.value, IngestSettings)
    assert expected in line
    assert "MRK" not in line


def test_settings_that_hold_are_accepted() -> None:
    settings = IngestSettings(
        token=LONG,
        webhook_secret=WHSEC,
        hmac_secret=LONG,
        allow_body_hmac=True,
        forwarded_allow_ips=" 10.0.0.0/8 ,192.168.1.7, fd00::/8",
        trust_forwarded_for=True,
    )
    assert settings.webhook_key() == b"k" * 32
    assert [str(net) for net in settings.proxies] == ["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]
    with pytest.raises(ValidationError) as caught:
        IngestSettings(token=LONG, forwarded_allow_ips="10.0.0.0/8,MRK")
    (line,) = describe(caught.value, IngestSettings)
    assert line == "PSB_INGEST_FORWARDED_ALLOW_IPS is not valid (value_error)"


def test_a_private_key_that_does_not_load_is_refused_without_its_value() -> None:
    with pytest.raises(ValidationError) as caught:
        FhirReadSettings(private_key="MRKNOTAKEY")
    (line,) = describe(caught.value, FhirReadSettings)
    assert line == "PSB_INGEST_FHIR_PRIVATE_KEY is not valid (value_error)"


@pytest.mark.parametrize("resource_id", [".", "..", "", "a/b", "x" * 65, "ab%2F", "é"])
def test_read_back_asks_only_for_fhir_ids(resource_id: str) -> None:
    assert not valid_id(resource_id)
    reader = FhirReader(FhirReadSettings(base_url="https://fhir.example/r"), None, 1024)  # type: ignore[arg-type]
    with pytest.raises(Problem) as caught:
        reader.url_for(AdverseEventRef(None, resource_id))
    assert caught.value.status == 422
    assert (
        reader.url_for(AdverseEventRef(None, "a-1.B"))
        == "https://fhir.example/r/AdverseEvent/a-1.B"
    )


@pytest.mark.parametrize("focus", ["AdverseEvent/.", "https://fhir.example/r/AdverseEvent/.."])
def test_a_notification_naming_a_dot_id_is_refused(focus: str) -> None:
    bundle = r5_notification(ids=["x1"], base="https://fhir.example/r")
    bundle["entry"][0]["resource"]["notificationEvent"][0]["focus"]["reference"] = focus
    with pytest.raises(BoundaryError) as caught:
        read_notification(bundle)
    assert caught.value.reason is Reason.INVALID_IDENTIFIER


def test_the_parser_error_patch_is_for_this_aiohttp() -> None:
    """connectors/ingest/parser_errors.py overrides an undocumented method: an aiohttp
    upgrade must look at it again (see its docstring for how to retire it)."""
    assert aiohttp.__version__ == WRITTEN_FOR


def test_openapi_schemas_are_valid_json_schema() -> None:
    document = openapi_document()
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    json.dumps(document)  # serialisable as served


@pytest.mark.parametrize("build", [r5_notification, r4b_notification, r4_backport_notification])
@pytest.mark.parametrize("kind", ["handshake", "heartbeat", "query-status"])
def test_notifications_without_events_carry_nothing_in_every_shape(build: Any, kind: str) -> None:
    content = read_notification(build(kind=kind))
    assert content.kind == kind
    assert content.resources == [] and content.references == []
