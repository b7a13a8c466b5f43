"""Run every measurement once, print a table, write ``bench/results.json``."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

from bench import (
    baseline,
    calibration,
    idle,
    memory,
    minimize_speed,
    pipeline,
    require_extras,
    restart,
    scale,
)
from runtime.broker import EmbeddedBroker
from runtime.settings import KafkaSettings
from runtime.topics import Topics, ensure_topics

RESULTS = Path(__file__).parent / "results.json"
TARGETS = {
    "minimize_native_per_s": ("≥", 20_000),
    "minimize_fhir_r4_per_s": ("≥", 20_000),
    "minimize_fhir_r5_per_s": ("≥", 20_000),
    "pipeline_per_s": ("≥", 300),
    "pipeline_p99_ms": ("≤", 100),
    "worker_idle_cpu_pct": ("≤", 1),
    "restart_ready_s_5y": ("≤", 10),
    "restart_ratio_5y_vs_empty": ("≤", 1.5),
    "worker_rss_mb_5y": ("≤", 250),
    "worker_rss_mb_100k_directory": ("≤", 250),
    "dispatch_cpu_ratio_100k_vs_1k": ("≤", 2),
    "forget_ms_per_leaver_100k_ledger": ("≤", 5),
}
"""What the system must do: cost at rest and over years, speed enough for a large trust."""
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
    results.update(scale.measure())
    workdir = Path(tempfile.mkdtemp(prefix="psb-bench-"))
    with EmbeddedBroker(log_file=workdir / "broker.log") as broker:
        # at rest first, while the broker holds nothing else
        results["worker_idle_cpu_pct"] = idle.measure(
            kafka_for(broker.bootstrap, "benchidle."), workdir
        )
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
        results.update(restart.measure(broker.bootstrap, workdir))
    results["restart_ratio_5y_vs_empty"] = (
        results["restart_ready_s_5y"] / results["restart_ready_s_empty"]
    )
    print(f"peer-support-bridge bench on {machine()} ({time.monotonic() - started:.0f} s)")
    for name, value in results.items():
        target = TARGETS.get(name)
        if target is None:
            note = ""
        else:
            sign, bound = target
            met = value >= bound if sign == "≥" else value <= bound
            note = f"target {sign} {bound:,}  {'✓' if met else '✗ MISSED'}"
        print(f"  {name:36s} {value:>12,.2f}  {note}")
    print(
        f"  this machine parses FHIR at {factor:.2f} × the reference machine"
        f" ({calibration.REFERENCE_FULL_PARSE_PER_S:,.0f} full parses/s), for comparing runs"
    )
    RESULTS.write_text(json.dumps({**results, "machine": machine()}, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
