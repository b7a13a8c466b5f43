"""The policy in force, and switching to a new version of its file without a restart.

The file is mounted from a ConfigMap in Kubernetes, which swaps a symlink rather than
writing the file in place, so the holder compares the content's digest instead of relying
on file-system events. An invalid new version is refused with a log line naming each
problem, and the version in force stays.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from runtime.logging import get_logger
from schemas.policy import Policy, PolicyError, default_policy_text, parse_policy

log = get_logger("policy")


class PolicyHolder:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        text = default_policy_text() if path is None else path.read_text(encoding="utf-8")
        self.current: Policy = parse_policy(text, str(path or "default policy"))
        self._digest = self._hash(text)
        self._refused: str | None = None
        log.info("policy in force", policy_version=self.current.version)

    @staticmethod
    def _hash(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    def reload_if_changed(self) -> bool:
        """Switch to the file's current content if it changed and is valid."""
        if self.path is None:
            return False
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            log.warning(
                "policy file unreadable, keeping the policy in force",
                policy_version=self.current.version,
                exception=type(exc).__name__,
            )
            return False
        digest = self._hash(text)
        if digest in (self._digest, self._refused):
            return False
        try:
            policy = parse_policy(text, str(self.path))
        except PolicyError as exc:
            self._refused = digest
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
