"""The privacy boundary alone, per input format, on one core."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from pathlib import Path

from schemas.boundary import PseudonymKey, Vocabulary, minimize
from schemas.policy import default_policy

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT.parent / "shared" / "fhir-examples"
FIXTURES = ROOT / "tests" / "fixtures" / "fhir"


def _first_existing(*paths: Path) -> bytes:
    for path in paths:
        if path.exists():
            return path.read_bytes()
    raise FileNotFoundError(paths[0])


def inputs() -> dict[str, bytes]:
    """Real-shaped reports: the demo's native sample (with narrative and patient details),
    and the official HL7 examples (our fixtures when ../shared is absent)."""
    native = (
        ROOT / "peer_support" / "samples" / "reports" / "01-native-medication.json"
    ).read_bytes()
    return {
        "native": json.dumps(json.loads(native)).encode(),
        "fhir_r4": _first_existing(
            EXAMPLES / "R4" / "qicore" / "AdverseEvent-example.json",
            FIXTURES / "r4-contributors.json",
        ),
        "fhir_r5": _first_existing(
            EXAMPLES / "R5-json" / "adverseevent-clinicalcareexample2phlebotomist.json",
            FIXTURES / "r5-participants.json",
        ),
    }


def rate(call: Callable[[], object], seconds: float = 3.0) -> float:
    for _ in range(500):  # warm up
        call()
    count = 0
    started = time.perf_counter()
    while True:
        for _ in range(500):
            call()
        count += 500
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return count / elapsed


def installation() -> Vocabulary:
    """What a large trust's boundary knows: the default policy, its source systems, and the
    units of a directory of some hundreds of units (the samples' among them)."""
    units = {f"UNIT-{number}" for number in range(800)} | {"MED-3", "ORT-2", "PSY-1"}
    return Vocabulary.of(default_policy(), sources={"demo-avvik", "fhir"}, directory_units=units)


def measure(seconds: float = 3.0) -> dict[str, float]:
    key = PseudonymKey(b"bench-pseudonym-key-0123456789abcdef")
    vocabulary = installation()
    return {
        f"minimize_{name}_per_s": rate(functools.partial(minimize, raw, key, vocabulary), seconds)
        for name, raw in inputs().items()
    }
