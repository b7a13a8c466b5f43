"""``make soak``: hostile input at scale, outside ``make test``.

Two runs on the embedded broker, each with its process's memory read before and after:

* a worker takes 10,000 malformed records (the kinds the fault tests fuzz with: wrong types,
  oversized, too deep, not UTF-8, duplicate keys, other FHIR resources, not an object,
  random bytes, empty) mixed with 1,000 valid reports; every malformed record must reach the
  dead-letter topic, every valid offer must be notified exactly once, and the worker must
  neither crash nor restart;
* the ingest server takes 20,000 requests, a third of them hostile (no or a wrong
  credential, broken JSON, an oversized body, undecodable header bytes, a refused media
  type); none may get a 5xx.

The worker's memory is read after a warm-up (the valid reports mixed with 1,000 malformed
records: its ledgers keep those offers by design) and after the other 9,000 malformed records,
which must cost nothing. It prints what it counted and writes ``bench/soak.json``; the figures
of the latest run are in docs/performance.md.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Producer

from bench import require_extras
from bench.pipeline import STAFF, load_directory, report
from runtime.broker import EmbeddedBroker
from runtime.kafka import producer_config
from runtime.settings import KafkaSettings
from runtime.topics import Topics, ensure_topics
from schemas import Channel
from schemas.boundary import PseudonymKey, pseudonymize, pseudonymize_staff
from streams.policy.decide import offer_id_for
from tools.ingest import TOKEN, IngestProcess
from tools.kafka import TopicReader
from tools.worker import TEST_PSEUDONYM_KEY, WorkerProcess

RESULTS = Path(__file__).parent / "soak.json"
MALFORMED = 10_000
VALID = 1_000
WARM_UP_MALFORMED = 1_000
REQUESTS = 20_000
MEMORY_MARGIN_MB = 50
SOURCE = "bench"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def malformed(rng: random.Random) -> bytes:
    """One record of the kinds the fault tests fuzz with (see test_faults.malformed)."""
    tag = f"MRK{rng.randrange(16**10):010X}"
    kinds: list[Callable[[], bytes]] = [
        lambda: json.dumps(
            {
                "format": "peer-support-bridge/incident-report",
                "version": "1",
                "report_id": tag,
                "source_system": "fuzz",
                "reported_at": "2026-11-23T10:00:00+00:00",
                "staff": tag,
            }
        ).encode(),
        lambda: json.dumps({"description": tag * 20_000}).encode(),
        lambda: b"[" * 300 + b'"MRKDEEP"' + b"]" * 300,
        lambda: f'{{"description": "{tag}'.encode() + b"\xff\xfe" + b'"}',
        lambda: f'{{"report_id": "{tag}", "report_id": "x"}}'.encode(),
        lambda: json.dumps({"resourceType": "Patient", "name": [{"text": tag}]}).encode(),
        lambda: json.dumps([tag]).encode(),
        lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))).replace(b"{", b"("),
        lambda: b"",
    ]
    return rng.choice(kinds)()


def kafka_for(bootstrap: str, prefix: str) -> KafkaSettings:
    kafka = KafkaSettings(
        bootstrap_servers=bootstrap, topic_prefix=prefix, partitions=6, session_timeout_ms=6000
    )
    ensure_topics(kafka, Topics.of(kafka).specs())
    return kafka


def soak_worker(bootstrap: str, workdir: Path) -> dict[str, Any]:
    kafka = kafka_for(bootstrap, "soakw.")
    topics = Topics(kafka.topic_prefix)
    load_directory(kafka, STAFF)
    rng = random.Random(20261203)
    run = uuid.uuid4().hex[:6]
    key = PseudonymKey(TEST_PSEUDONYM_KEY.encode())
    warm_up: list[bytes] = [malformed(rng) for _ in range(WARM_UP_MALFORMED)]
    expected: set[str] = set()
    for number in range(VALID):
        value, report_id, staff = report(number, f"soak-{run}")
        warm_up.append(value)
        incident = pseudonymize(key, SOURCE, report_id)
        expected |= {offer_id_for(key, incident, pseudonymize_staff(key, ref)) for ref in staff}
    rng.shuffle(warm_up)
    hostile = [malformed(rng) for _ in range(MALFORMED - WARM_UP_MALFORMED)]
    worker = WorkerProcess(kafka, f"soak-{run}", workdir).start()
    pid = worker.process.pid if worker.process else 0
    at_start = rss_mb(pid)
    reader = TopicReader(kafka, [topics.notifications(Channel.EMAIL)])
    producer = Producer(producer_config(kafka, **{"queue.buffering.max.messages": 100_000}))
    handled = ('psb_reports_total{outcome="signal"}', 'psb_reports_total{outcome="dead-lettered"}')
    started = time.monotonic()

    def send_and_wait(records: list[bytes], total: int) -> None:
        for value in records:
            producer.produce(topics.incident_reports, value)
            producer.poll(0)
        producer.flush(120)
        deadline = time.monotonic() + 600
        while sum(worker.metric(sample) for sample in handled) < total:
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not take every record in 10 minutes")
            time.sleep(1)

    # the valid reports, mixed with some malformed records, fill the worker's ledgers (state it
    # keeps by design, within retention); then only malformed records, which must cost nothing
    send_and_wait(warm_up, len(warm_up))
    reader.poll_until(lambda found: len(found) >= len(expected), timeout=300, idle=5)
    before = rss_mb(pid)
    send_and_wait(hostile, len(warm_up) + len(hostile))
    offers = Counter(json.loads(value)["offer_id"] for value in reader.values())
    after = rss_mb(pid)
    alive = worker.process is not None and worker.process.poll() is None
    dead_lettered = worker.metric(handled[1])
    worker.stop()
    reader.close()
    return {
        "worker_records": len(warm_up) + len(hostile),
        "worker_malformed_dead_lettered_pct": 100 * dead_lettered / MALFORMED,
        "worker_offers_expected": len(expected),
        "worker_offers_notified_once": sum(1 for o in expected if offers[o] == 1),
        "worker_offers_notified_twice_or_more": sum(1 for o in expected if offers[o] > 1),
        "worker_alive_same_process": alive,
        "worker_seconds": round(time.monotonic() - started, 1),
        "worker_rss_mb_at_start": round(at_start, 1),
        "worker_rss_mb_start": round(before, 1),
        "worker_rss_mb_end": round(after, 1),
    }


def hostile_request(number: int, rng: random.Random) -> dict[str, Any]:
    """A third of the requests are hostile, the rest valid reports with the token."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    document = json.dumps(
        {
            "format": "peer-support-bridge/incident-report",
            "version": 1,
            "report_id": f"soak-ingest-{number}",
            "source_system": SOURCE,
            "reported_at": "2026-12-03T10:00:00+00:00",
            "description": "Ola Testpasient",
            "staff": [{"staff_ref": f"emp-{number % STAFF}", "role": "reporter"}],
        }
    ).encode()
    json_type = {"Content-Type": "application/json"}
    if number % 3:
        return {"content": document, "headers": {**auth, **json_type}}
    return rng.choice(
        [
            {"content": document, "headers": json_type},
            {"content": document, "headers": {"Authorization": "Bearer wrong", **json_type}},
            {"content": b'{"report_id": ', "headers": {**auth, **json_type}},
            {"content": b"x" * 2_000_000, "headers": {**auth, **json_type}},
            {"content": document, "headers": {**auth, "Content-Type": "text/plain"}},
            {"content": document, "headers": {"Authorization": b"Bearer \xff\xfe", **json_type}},
            {"content": b"[" * 500 + b"]" * 500, "headers": {**auth, **json_type}},
        ]
    )


def soak_ingest(bootstrap: str, workdir: Path) -> dict[str, Any]:
    kafka = kafka_for(bootstrap, "soaki.")
    load_directory(kafka, STAFF)
    rng = random.Random(3)
    requests = [hostile_request(number, rng) for number in range(REQUESTS)]
    statuses: Counter[int] = Counter()
    with IngestProcess(kafka, workdir, {"PSB_SOURCE_SYSTEMS": SOURCE}) as ingest:
        pid = ingest.process.pid if ingest.process else 0
        before = rss_mb(pid)
        started = time.monotonic()
        with httpx.Client(base_url=ingest.base_url, timeout=30) as client:

            def send(request: dict[str, Any]) -> int:
                try:
                    return client.post("/v1/reports", **request).status_code
                except httpx.HTTPError:
                    return 0  # the server closed the connection: counted, not a 5xx

            with ThreadPoolExecutor(max_workers=16) as pool:
                statuses.update(pool.map(send, requests))
        after = rss_mb(pid)
        seconds = time.monotonic() - started
    return {
        "ingest_requests": REQUESTS,
        "ingest_statuses": {str(status): count for status, count in sorted(statuses.items())},
        "ingest_5xx": sum(count for status, count in statuses.items() if status >= 500),
        "ingest_requests_per_s": round(REQUESTS / seconds),
        "ingest_rss_mb_start": round(before, 1),
        "ingest_rss_mb_end": round(after, 1),
    }


def main() -> None:
    require_extras("demo")
    workdir = Path(tempfile.mkdtemp(prefix="psb-soak-"))
    with EmbeddedBroker(log_file=workdir / "broker.log") as broker:
        results = {
            **soak_worker(broker.bootstrap, workdir),
            **soak_ingest(broker.bootstrap, workdir),
        }
    checks = {
        "every malformed record dead-lettered": results["worker_malformed_dead_lettered_pct"]
        == 100,
        "every valid offer notified exactly once": results["worker_offers_notified_once"]
        == results["worker_offers_expected"],
        "the worker neither crashed nor restarted": results["worker_alive_same_process"],
        "no 5xx from the ingest server": results["ingest_5xx"] == 0,
        "worker memory within 50 MB over 9,000 malformed records after warm-up": results[
            "worker_rss_mb_end"
        ]
        - results["worker_rss_mb_start"]
        <= MEMORY_MARGIN_MB,
        "ingest memory within 50 MB of the start": results["ingest_rss_mb_end"]
        - results["ingest_rss_mb_start"]
        <= MEMORY_MARGIN_MB,
    }
    for name, value in results.items():
        print(f"  {name:42s} {value}")
    for check, passed in checks.items():
        print(f"  {'✓' if passed else '✗'} {check}")
    RESULTS.write_text(json.dumps({**results, "checks": checks}, indent=2) + "\n")
    print(f"written to {RESULTS}")
    if not all(checks.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
