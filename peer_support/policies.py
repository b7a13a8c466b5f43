"""The policy a command works under: the file of ``PSB_POLICY_FILE``, or the default."""

from __future__ import annotations

from pathlib import Path

from peer_support.exits import fail
from schemas.policy import Policy, PolicyError, load_policy_or_default


def policy_or_exit(path: Path | None) -> Policy:
    """The policy, or one line per problem and exit 2 (the file's text is never shown)."""
    try:
        return load_policy_or_default(path)
    except PolicyError as exc:
        fail("; ".join(problem.render(exc.source) for problem in exc.problems))
