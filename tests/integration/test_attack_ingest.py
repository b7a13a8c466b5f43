"""The ingest server's hostile edges (issue 20), each attack sent to the real process and
shown refused: memory exhaustion before authentication, an outsider starving the reporting
systems, forged X-Forwarded-For, replayed and half-wrong signatures, header bytes that are
not UTF-8, requests the HTTP parser refuses, FHIR read-back led astray, and secrets too
short to hold.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from connectors.ingest.auth import SIGNATURE_HEADER, sign
from runtime.broker import free_port
from runtime.settings import KafkaSettings
from tests.support.fhir_bundles import r5_notification
from tests.support.fhir_server import FhirStandIn
from tests.unit.helpers import fixture, native_report
from tools.ingest import (
    HMAC_SECRET,
    TOKEN,
    WEBHOOK_SECRET,
    IngestProcess,
    webhook_headers,
)
from tools.worker import TEST_PSEUDONYM_KEY

FHIR_JSON = "application/fhir+json"
PROBLEM_JSON = "application/problem+json"
MIB = 1_048_576
MEMORY_MARGIN_MB = 50
SERVER = "peer-support-bridge"


def report(number: str | None = None) -> bytes:
    return json.dumps(native_report(report_id=number or uuid.uuid4().hex)).encode()


def raw_exchange(port: int, request: bytes, timeout: float = 10) -> bytes:
    """Send bytes as they are (no client library tidies them) and read the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def head_and_body(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def refused(process: IngestProcess) -> dict[str, float]:
    """The server's own count of refusals, by reason (psb_ingest_refused_total)."""
    text = httpx.get(f"{process.base_url}/metrics", timeout=10).text
    found = re.findall(r'^psb_ingest_refused_total\{reason="([^"]+)"\} (\S+)$', text, re.M)
    return {reason: float(count) for reason, count in found}


def assert_problem(response: httpx.Response, status: int, reason: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM_JSON)
    assert response.json()["reason"] == reason


@pytest.fixture(scope="module")
def strict(
    kafka: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IngestProcess]:
    """Production-like limits for unauthenticated traffic, and the body HMAC allowed."""
    env = {
        "PSB_INGEST_UNAUTHENTICATED_RATE_PER_SECOND": "0.5",
        "PSB_INGEST_UNAUTHENTICATED_BURST": "10",
        "PSB_INGEST_HMAC_SECRET": HMAC_SECRET,
        "PSB_INGEST_ALLOW_BODY_HMAC": "true",
        "PSB_INGEST_FORWARDED_ALLOW_IPS": "10.0.0.0/8",  # a proxy network the tests are not in
    }
    with IngestProcess(kafka, tmp_path_factory.mktemp("strict"), env) as process:
        yield process


# --- memory before authentication --------------------------------------------------------


async def slow_upload(port: int, extra: dict[str, str], stall: bool) -> str:
    """A 1 MiB upload sent in 32 KiB steps; a stalled one stops halfway and waits."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /v1/reports HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n"
        f"Content-Length: {MIB}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in extra.items()) + "\r\n"
    )
    try:
        writer.write(head.encode())
        for step in range(32):
            if stall and step == 16:
                await asyncio.sleep(6)
                break
            writer.write(b" " * 32768)
            await writer.drain()
            await asyncio.sleep(0.15)
        line = await asyncio.wait_for(reader.readline(), timeout=15)
        return line.decode("latin-1").split(" ")[1] if line else "closed"
    except (ConnectionError, TimeoutError, IndexError):
        return "closed"
    finally:
        writer.close()


@pytest.fixture(scope="module")
def roomy(
    kafka: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IngestProcess]:
    """1 MiB bodies, and the address limit opened wide, so that only the bounds on unverified
    bodies stand between a flood and the process's memory."""
    env = {
        "PSB_INGEST_MAX_BODY_BYTES": str(MIB),
        "PSB_INGEST_BODY_TIMEOUT_S": "3",
        "PSB_INGEST_IDLE_TIMEOUT_S": "2",
    }
    with IngestProcess(kafka, tmp_path_factory.mktemp("roomy"), env) as process:
        yield process


async def test_a_flood_of_slow_uploads_leaves_memory_alone_and_a_caller_served(
    roomy: IngestProcess,
) -> None:
    """300 uploads of 1 MiB at once, half without credentials and half with a forged
    Standard Webhooks signature, paced or stalled: the server's memory stays within 50 MB of
    its idle level, during and after, and a reporting system is served meanwhile."""
    for _ in range(3):  # warm up the paths the flood takes, then measure idle
        assert roomy.post("/v1/reports", report()).status_code == 202
        assert roomy.post("/v1/reports", report(), token=None).status_code == 401
    idle = roomy.rss_mb()
    peak = idle
    flooding = True

    async def watch() -> None:
        nonlocal peak
        while flooding:
            peak = max(peak, roomy.rss_mb())
            await asyncio.sleep(0.05)

    def forged() -> dict[str, str]:
        return {**webhook_headers(b"{}"), "webhook-signature": "v1,AAAA"}

    watcher = asyncio.create_task(watch())
    uploads = [
        asyncio.create_task(slow_upload(roomy.port, forged() if n % 2 else {}, stall=n % 3 == 0))
        for n in range(300)
    ]
    await asyncio.sleep(2)
    served = await asyncio.to_thread(roomy.post, "/v1/reports", report())
    outcomes = await asyncio.gather(*uploads)
    flooding = False
    await watcher
    assert served.status_code == 202, served.text
    assert set(outcomes) <= {"401", "408", "503", "closed"}, set(outcomes)
    assert peak - idle <= MEMORY_MARGIN_MB, f"idle {idle:.0f} MiB, peak {peak:.0f} MiB"
    assert roomy.rss_mb() - idle <= MEMORY_MARGIN_MB
    assert roomy.process is not None and roomy.process.poll() is None
    assert roomy.post("/v1/reports", report()).status_code == 202
    # both halves met their bound: refused before the body, or the shared budget was full
    refusals = refused(roomy)
    assert refusals["unauthorized"] >= 150 and refusals["busy"] and refusals["body-timeout"]


def test_a_connection_that_never_finishes_its_headers_is_closed(roomy: IngestProcess) -> None:
    with socket.create_connection(("127.0.0.1", roomy.port), timeout=10) as sock:
        sock.sendall(b"POST /v1/reports HTTP/1.1\r\nHost: ingest\r\nX-Slow: 1\r\n")
        started = time.monotonic()
        assert sock.recv(100) == b"", "closed without an answer"
        assert time.monotonic() - started < 5  # PSB_INGEST_IDLE_TIMEOUT_S is 2 here


# --- an outsider and the rate limits ----------------------------------------------------


def test_an_outsider_does_not_spend_a_reporting_systems_allowance(strict: IngestProcess) -> None:
    statuses = [
        strict.post("/v1/reports", report(), token=None if n % 2 else "wrong").status_code
        for n in range(150)
    ]
    assert 429 in statuses and set(statuses) <= {401, 429}, "the outsider was limited"
    response = strict.post("/v1/reports", report())
    assert response.status_code == 202, response.text


def test_random_forwarded_for_from_an_untrusted_peer_does_not_escape_the_limit(
    strict: IngestProcess,
) -> None:
    def forged() -> dict[str, str]:
        return {"X-Forwarded-For": f"198.51.100.{random.randrange(256)}"}

    statuses = [
        strict.post("/v1/reports", report(), token=None, headers=forged()).status_code
        for _ in range(40)
    ]
    assert statuses.count(429) >= 25, statuses  # the burst of 10 and a refill at most passed


# --- signatures ---------------------------------------------------------------------------


def test_a_replayed_webhook_is_refused_wherever_it_is_sent(ingest: IngestProcess) -> None:
    body = report()
    signed = webhook_headers(body)
    accepted = ingest.post("/v1/reports", body, token=None, headers=signed)
    assert accepted.status_code == 202, accepted.text
    assert_problem(ingest.post("/v1/reports", body, token=None, headers=signed), 409, "replayed")
    # the signature covers neither path, query nor content type: the id's single use does
    elsewhere = ingest.post(
        "/fhir/AdverseEvent", body, FHIR_JSON, token=None, headers=signed, params={"x": "1"}
    )
    assert_problem(elsewhere, 409, "replayed")
    old = webhook_headers(body, timestamp=int(time.time()) - 3600)
    assert_problem(
        ingest.post("/v1/reports", body, token=None, headers=old), 401, "stale-signature"
    )


def test_a_webhook_refused_for_another_reason_may_be_sent_again(ingest: IngestProcess) -> None:
    """A sender retries with the same id; only an accepted id is used up."""
    body = json.dumps(native_report(staff=[{"staff_ref": "e", "role": "nobody"}])).encode()
    signed = webhook_headers(body)
    for _ in range(2):
        response = ingest.post("/v1/reports", body, token=None, headers=signed)
        assert_problem(response, 422, "not-allowed-value")


def test_a_right_token_with_a_wrong_signature_is_refused(strict: IngestProcess) -> None:
    body = report()
    wrong_hmac = {SIGNATURE_HEADER: sign(b"another-key-of-at-least-32-bytes!!", body)}
    assert_problem(strict.post("/v1/reports", body, headers=wrong_hmac), 401, "bad-signature")
    wrong_webhook = {**webhook_headers(body), "webhook-signature": "v1,AAAA"}
    assert_problem(strict.post("/v1/reports", body, headers=wrong_webhook), 401, "bad-signature")
    both_right = {SIGNATURE_HEADER: sign(HMAC_SECRET.encode(), body), **webhook_headers(body)}
    assert strict.post("/v1/reports", body, headers=both_right).status_code == 202


# --- malformed headers and requests -------------------------------------------------------


def request_with(header: bytes, body: bytes = b"{}") -> bytes:
    return (
        b"POST /v1/reports HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n"
        + header
        + b"\r\n\r\n"
        + body
    )


NOT_UTF8 = b"\xff\xfe\xc3("


@pytest.mark.parametrize(
    "header",
    [
        b"Authorization: Bearer " + NOT_UTF8,
        b"Authorization: " + NOT_UTF8,
        SIGNATURE_HEADER.encode() + b": sha256=" + NOT_UTF8,
        b"webhook-id: " + NOT_UTF8 + b"\r\nwebhook-timestamp: 1\r\nwebhook-signature: v1,AA==",
        b"webhook-id: m\r\nwebhook-timestamp: " + NOT_UTF8 + b"\r\nwebhook-signature: v1,AA==",
        b"webhook-id: m\r\nwebhook-timestamp: 1\r\nwebhook-signature: v1," + NOT_UTF8,
    ],
    ids=["bearer", "authorization", "x-signature-256", "webhook-id", "timestamp", "signature"],
)
def test_header_bytes_that_are_not_utf8_get_a_problem_document(
    ingest: IngestProcess, header: bytes
) -> None:
    status, headers, body = head_and_body(raw_exchange(ingest.port, request_with(header)))
    assert status in (400, 401), body
    assert headers["content-type"].startswith(PROBLEM_JSON)
    assert json.loads(body)["status"] == status


def test_other_headers_that_are_not_utf8_do_not_break_a_valid_request(
    ingest: IngestProcess,
) -> None:
    header = (
        f"Authorization: Bearer {TOKEN}\r\nce-specversion: 1.0\r\nce-id: 1\r\n".encode()
        + b"ce-type: incident\r\nce-source: "
        + NOT_UTF8
        + b"\r\nX-Forwarded-For: "
        + NOT_UTF8
    )
    status, _, body = head_and_body(raw_exchange(ingest.port, request_with(header, report())))
    assert status == 202, body


MARKER = "MRKECHO" + uuid.uuid4().hex[:8].upper()
CLOSE = "Connection: close\r\n\r\n"


@pytest.mark.parametrize(
    "request_bytes",
    [
        f"POST /v1/reports HTTP/1.1\r\nHost: x\r\nX-Note: {MARKER}\x00\r\n\r\n".encode(),
        f"POST /v1/{MARKER} HT TP/1.1 {MARKER}\r\nHost: x\r\n\r\n".encode(),
        f"POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Length: {MARKER}\r\n\r\n".encode(),
        f"GET /{MARKER} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
        f"GET /health/live HTTP/1.1\r\nHost: x\r\nExpect: {MARKER}\r\n{CLOSE}".encode(),
        f"POST /{MARKER} HTTP/1.1\r\nHost: x\r\nExpect: {MARKER}\r\n{CLOSE}".encode(),
        f"{MARKER} /v1/reports HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
        f"OPTIONS * HTTP/1.1\r\nHost: {MARKER}\r\nConnection: close\r\n\r\n".encode(),
        (f"POST /v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
         f"Content-Encoding: gzip\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}").encode(),
    ],
    ids=["nul-in-header", "request-line", "content-length", "unknown-path", "expect-get",
         "expect-unknown-path", "unknown-method", "asterisk", "compressed"],
)  # fmt: skip
def test_malformed_requests_get_a_problem_document_that_quotes_nothing(
    ingest: IngestProcess, request_bytes: bytes
) -> None:
    answer = raw_exchange(ingest.port, request_bytes)
    status, headers, body = head_and_body(answer)
    assert 400 <= status < 500, answer
    assert headers["content-type"].startswith(PROBLEM_JSON), answer
    assert json.loads(body)["status"] == status
    assert MARKER.encode() not in answer
    assert headers["server"] == SERVER, "no library, no version"


def test_every_answer_names_the_server_without_a_version(ingest: IngestProcess) -> None:
    for response in (
        httpx.get(f"{ingest.base_url}/health/live", timeout=10),
        httpx.get(f"{ingest.base_url}/metrics", timeout=10),
        ingest.post("/v1/reports", report()),
        ingest.post("/v1/reports", report(), token=None),
    ):
        assert response.headers["Server"] == SERVER


def test_expect_continue_is_answered_only_once_the_headers_pass(ingest: IngestProcess) -> None:
    head = b"POST /v1/reports HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n"
    refused = raw_exchange(ingest.port, head + b"Connection: close\r\n\r\n")
    assert refused.startswith(b"HTTP/1.1 401"), refused
    with socket.create_connection(("127.0.0.1", ingest.port), timeout=10) as sock:
        sock.sendall(head + f"Authorization: Bearer {TOKEN}\r\n\r\n".encode())
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")


# --- FHIR read-back -----------------------------------------------------------------------


def test_read_back_follows_no_redirect(ingest: IngestProcess, fhir: FhirStandIn) -> None:
    event = {**fixture("r5-participants.json"), "id": "moved-1"}
    with FhirStandIn() as other:
        other.resources["moved-1"] = event
        fhir.redirects["moved-1"] = f"{other.base_url}/AdverseEvent/moved-1"
        fhir.redirects["moved-2"] = "/admin/users?all=true"
        for moved in ("moved-1", "moved-2"):
            bundle = r5_notification(ids=[moved], base=fhir.base_url)
            assert_problem(
                ingest.post("/fhir/subscription", bundle, FHIR_JSON), 502, "read-back-failed"
            )
        assert other.requests == [], "another host was asked"
    assert not [seen for seen in fhir.requests if seen.path.startswith("/admin")]


@pytest.mark.parametrize("focus", [".", ".."])
def test_read_back_of_a_dot_id_asks_nothing(
    ingest: IngestProcess, fhir: FhirStandIn, focus: str
) -> None:
    asked = len(fhir.requests)
    bundle = r5_notification(ids=[focus], base=fhir.base_url)
    assert_problem(ingest.post("/fhir/subscription", bundle, FHIR_JSON), 422, "invalid-identifier")
    assert fhir.requests[asked:] == []


def test_read_back_of_an_answer_past_the_size_limit_fails(
    ingest: IngestProcess, fhir: FhirStandIn
) -> None:
    fhir.resources["huge-1"] = {**fixture("r5-participants.json"), "id": "huge-1"}
    fhir.resources["huge-1"]["implicitRules"] = "x" * 200_000  # past the 64 KiB limit
    bundle = r5_notification(ids=["huge-1"], base=fhir.base_url)
    assert_problem(ingest.post("/fhir/subscription", bundle, FHIR_JSON), 502, "read-back-failed")


# --- secrets that cannot hold -------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("PSB_INGEST_TOKEN", "", "PSB_INGEST_TOKEN is empty"),
        ("PSB_INGEST_TOKEN", "MRKSHORT-token", "PSB_INGEST_TOKEN must be at least 32 bytes"),
        ("PSB_INGEST_WEBHOOK_SECRET", "whsec_TVJLU0hPUlQ=", "must encode at least 32 bytes"),
        ("PSB_INGEST_HMAC_SECRET", HMAC_SECRET, "PSB_INGEST_ALLOW_BODY_HMAC"),
        ("PSB_INGEST_TRUST_FORWARDED_FOR", "true", "PSB_INGEST_FORWARDED_ALLOW_IPS"),
    ],
    ids=["empty-token", "short-token", "short-webhook-secret", "body-hmac", "forwarded-for"],
)
def test_secrets_and_settings_that_cannot_hold_stop_the_start(
    setting: str, value: str, expected: str
) -> None:
    env = {key: val for key, val in os.environ.items() if not key.startswith("PSB_")}
    env.update(
        {
            "PSB_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
            "PSB_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
            "PSB_INGEST_PORT": str(free_port()),
            "PSB_INGEST_TOKEN": TOKEN,
            setting: value,
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "peer_support", "ingest"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert expected in line
    assert "MRK" not in line and "TVJL" not in line and HMAC_SECRET not in line
    assert WEBHOOK_SECRET not in result.stdout + result.stderr


def test_readiness_says_callers_can_be_accepted(ingest: IngestProcess) -> None:
    ready = httpx.get(f"{ingest.base_url}/health/ready", timeout=10).json()
    assert ready["callers"] is True
