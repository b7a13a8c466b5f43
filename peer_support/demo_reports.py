"""The demo's input: the staff directory, the sample reports sent live, and one replayed.

Every sample, the replay too, is moved in time to just before it is sent, so the figures read
as they would for a live report: the samples' own dates lie days back, and in time beyond the
policy's max_report_age, where they would make no offer at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Final

from confluent_kafka import Producer

from runtime.clock import utc_now
from runtime.kafka import producer_config
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import StaffProfile

SAMPLES: Final = resources.files("peer_support") / "samples"
LIVE: Final = (
    "01-native-medication.json",
    "02-fhir-r4-fall.json",
    "03-fhir-r5-aggression.json",
    "05-malformed.json",
    "06-native-opted-out.json",
)
REPLAY_FILE: Final = "past-reports.ndjson"
REPLAY_LINE: Final = 1
"""The line of :data:`REPLAY_FILE` replayed: the report of 01-native-medication.json."""
REPLAYED_AFTER: Final = 3
"""How many live reports go before the replay (so it comes before the malformed one)."""
REPORTED_AGO: Final = timedelta(minutes=1)

REPORTED: Final = ("reported_at", "recordedDate")
WHEN: Final = (*REPORTED, "occurred_at", "date", "occurrenceDateTime")


@dataclass(frozen=True)
class Sent:
    """What the demo put on the reports topic, as it says it."""

    live: int
    replayed: int


def staff_profiles() -> list[StaffProfile]:
    lines = (SAMPLES / "staff.ndjson").read_text().splitlines()
    return [StaffProfile.model_validate_json(line) for line in lines if line.strip()]


def load_directory(kafka: KafkaSettings, topics: Topics) -> int:
    producer = Producer(producer_config(kafka))
    profiles = staff_profiles()
    for profile in profiles:
        producer.produce(
            topics.staff_directory, key=profile.staff_ref, value=profile.model_dump_json()
        )
    producer.flush(30)
    return len(profiles)


def as_if_just_reported(raw: bytes, now: datetime) -> bytes:
    """The sample moved in time so that it was reported :data:`REPORTED_AGO` before ``now``
    (its times keep their distances); what is not a JSON object stays as it is."""
    try:
        document = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(document, dict):
        return raw
    reported = next((document[name] for name in REPORTED if name in document), None)
    if not isinstance(reported, str):
        return raw
    shift = now - REPORTED_AGO - datetime.fromisoformat(reported)
    for name in WHEN:
        if isinstance(document.get(name), str):
            document[name] = (datetime.fromisoformat(document[name]) + shift).isoformat()
    return json.dumps(document, ensure_ascii=False).encode()


def replayed_report() -> bytes:
    lines = (SAMPLES / REPLAY_FILE).read_bytes().splitlines()
    return lines[REPLAY_LINE - 1]


def send_reports(kafka: KafkaSettings, topics: Topics) -> Sent:
    """The live samples in order, and the replay among them, each printed as it goes."""
    producer = Producer(producer_config(kafka))
    now = utc_now()

    def send(raw: bytes) -> None:
        producer.produce(topics.incident_reports, value=as_if_just_reported(raw, now))
        producer.flush(30)

    for number, name in enumerate(LIVE, start=1):
        send((SAMPLES / "reports" / name).read_bytes())
        print(f"  sent        {name}", flush=True)
        if number == REPLAYED_AFTER:
            send(replayed_report())
            print(
                f"  replayed    {REPLAY_FILE} line {REPLAY_LINE}: the report of {LIVE[0]} "
                "once more, as a backfill would send it",
                flush=True,
            )
    return Sent(live=len(LIVE), replayed=1)
