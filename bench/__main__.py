"""Run every measurement once, print a table, write ``bench/results.json``."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

from bench import baseline, calibration, memory, minimize_speed, pipeline, require_extras
from runtime.broker import EmbeddedBroker
from runtime.settings import KafkaSettings
from runtime.topics import Topics, ensure_topics

RESULTS = Path(__file__).parent / "results.json"
TARGETS = {
    "minimize_native_per_s": ("≥", 20_000),
    "minimize_fhir_r4_per_s": ("≥", 20_000),
    "minimize_fhir_r5_per_s": ("≥", 20_000),
    "pipeline_p99_ms": ("≤", 100),
    "worker_rss_mb_100k_directory": ("≤", 250),
}
REPORTS = int(os.environ.get("BENCH_REPORTS", "10000"))


def kafka_for(bootstrap: str, prefix: str) -> KafkaSettings:
    kafka = KafkaSettings(
        bootstrap_servers=bootstrap, topic_prefix=prefix, partitions=6, session_timeout_ms=6000
    )
    ensure_topics(kafka, Topics(prefix).specs())
    return kafka


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main() -> None:
    require_extras("demo", "strict")
    started = time.monotonic()
    results: dict[str, float] = dict(minimize_speed.measure())
    results["calibration_full_fhir_parse_per_s"] = calibration.full_parse_per_s()
    factor = calibration.machine_factor(results["calibration_full_fhir_parse_per_s"])
    workdir = Path(tempfile.mkdtemp(prefix="psb-bench-"))
    with EmbeddedBroker(log_file=workdir / "broker.log") as broker:
        kafka = kafka_for(broker.bootstrap, "bench.")
        pipeline.load_directory(kafka, pipeline.STAFF)
        per_s, _ = pipeline.throughput(kafka, workdir, REPORTS)
        results["pipeline_per_s"] = per_s
        results["baseline_per_s"] = baseline.passthrough(
            kafka, Topics(kafka.topic_prefix).incident_reports, "bench-baseline-copy", REPORTS
        )
        fresh = kafka_for(broker.bootstrap, "benchlat.")  # no backlog for a new group to read
        pipeline.load_directory(fresh, pipeline.STAFF)
        p50, p99 = pipeline.latency(fresh, workdir, per_second=100, seconds=20)
        results["pipeline_p50_ms"], results["pipeline_p99_ms"] = p50, p99
        results["worker_rss_mb_100k_directory"] = memory.worker_rss(
            kafka_for(broker.bootstrap, "benchmem."), workdir, 100_000
        )
    ratio = results["pipeline_per_s"] / results["baseline_per_s"]
    print(f"peer-support-bridge bench on {machine()} ({time.monotonic() - started:.0f} s)")
    for name, value in results.items():
        target = TARGETS.get(name)
        note = f"target {target[0]} {target[1]:,}" if target else ""
        print(f"  {name:32s} {value:>12,.1f}  {note}")
    print(f"  {'pipeline / baseline':32s} {ratio:>12.4f}  target ≥ 0.1")
    print(
        f"  this machine parses FHIR at {factor:.2f} × the reference machine"
        f" ({calibration.REFERENCE_FULL_PARSE_PER_S:,.0f} full parses/s), for comparing runs"
    )
    RESULTS.write_text(json.dumps({**results, "machine": machine()}, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
