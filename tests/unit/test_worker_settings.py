"""The worker refuses a rewind too short to cover what it keeps in flight, in one line that
names the setting and the least value it takes, before it connects to anything."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import SecretStr, ValidationError

from peer_support.exits import EXIT_INPUT
from runtime.settings import BoundarySettings, KafkaSettings, WorkerSettings, least_rewind
from tools.worker import TEST_PSEUDONYM_KEY


@pytest.mark.parametrize(("batch_size", "least"), [(500, 1501), (2000, 3001)])
def test_a_rewind_shorter_than_what_is_in_flight_is_refused(batch_size: int, least: int) -> None:
    assert least_rewind(batch_size) == least
    WorkerSettings(batch_size=batch_size, rewind_records=least)
    with pytest.raises(ValidationError) as refused:
        WorkerSettings(batch_size=batch_size, rewind_records=least - 1)
    (error,) = refused.value.errors(include_input=False, include_url=False)
    assert f"PSB_WORKER_REWIND_RECORDS must be at least {least}" in error["msg"]


def test_the_least_rewind_covers_what_the_worker_fetches_queues_and_batches() -> None:
    from streams.app import create_app

    worker = WorkerSettings(rewind_records=least_rewind(500), batch_size=500)
    app = create_app(
        KafkaSettings(bootstrap_servers="localhost:1"),
        BoundarySettings(pseudonym_key=SecretStr("k" * 32)),
        worker,
    ).app
    try:
        in_flight = app.conf.broker_max_poll_records + app.conf.stream_buffer_maxsize
        assert in_flight + worker.batch_size < app.rewind_records
    finally:
        app.consumer._thread.thread_loop.close()


def test_the_worker_command_names_the_setting_and_its_least_value() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PSB_")}
    env |= {"PSB_WORKER_REWIND_RECORDS": "0", "PSB_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY}
    done = subprocess.run(
        [sys.executable, "-m", "peer_support", "worker"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == EXIT_INPUT
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert "PSB_WORKER_REWIND_RECORDS must be at least 1501" in line
