"""The policy in force, and switching to a new version of its file without a restart (the
worker and the ingest server both hold one).

The file is mounted from a ConfigMap in Kubernetes, which swaps a symlink rather than
writing the file in place, so the holder compares the content's digest instead of relying
on file-system events. A new version that cannot be decoded or is invalid is refused with
one log line naming each problem (line and message, never the content), and the version
in force stays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from runtime.logging import get_logger
from schemas.policy import Policy, PolicyError, default_policy_text, parse_policy
from schemas.policy.load import decode_policy, read_policy_bytes

log = get_logger("policy")


class PolicyHolder:
    def __init__(self, path: Path | None) -> None:
        """Raises :class:`PolicyError` when the file cannot be read, decoded or accepted."""
        self.path = path
        data = default_policy_text().encode() if path is None else read_policy_bytes(path)
        self.current: Policy = self._parse(data)
        self._digest = self._hash(data)
        self._refused: str | None = None
        self.on_refused: Callable[[], None] = lambda: None
        """Called once per refused version of the file: the holder's owner counts it."""
        log.info("policy in force", policy_version=self.current.version)

    @staticmethod
    def _hash(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def _parse(self, data: bytes) -> Policy:
        source = str(self.path or "default policy")
        return parse_policy(decode_policy(data, source), source)

    def reload_if_changed(self) -> bool:
        """Switch to the file's current content if it changed and is valid."""
        if self.path is None:
            return False
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            log.warning(
                "policy file unreadable, keeping the policy in force",
                policy_version=self.current.version,
                exception=type(exc).__name__,
            )
            return False
        digest = self._hash(data)
        if digest in (self._digest, self._refused):
            return False
        try:
            policy = self._parse(data)
        except PolicyError as exc:
            self._refused = digest
            self.on_refused()
            log.error(
                "new policy refused, keeping the policy in force",
                policy_version=self.current.version,
                problems=[problem.render(exc.source) for problem in exc.problems],
            )
            return False
        previous = self.current.version
        self.current = policy
        self._digest = digest
        self._refused = None
        log.info("policy reloaded", policy_version=policy.version, previous_version=previous)
        return True
