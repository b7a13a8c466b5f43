"""``python -m tests.support.crashing_sink CHANNEL``: the real ``peer-support sink`` process,
except that it kills itself (SIGKILL) where it would commit its first offset: after the send
and its receipt, before the commit. What a power cut at the worst moment looks like."""

from __future__ import annotations

import os
import signal
import sys

from confluent_kafka import Message

from connectors.base.runner import SinkRunner


def _die_instead_of_committing(_runner: SinkRunner, _message: Message) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    SinkRunner._commit = _die_instead_of_committing  # type: ignore[method-assign]
    from peer_support.cli import app

    app(["sink", *sys.argv[1:]])
