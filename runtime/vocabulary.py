"""The codes that may cross the boundary in a running process: the policy in force, the
configured source systems, and the units of the staff directory as it is now."""

from __future__ import annotations

from collections.abc import Container

from runtime.policy_holder import PolicyHolder
from schemas.boundary import Vocabulary
from schemas.policy import Policy


class InstallationVocabulary:
    """Built again only when the policy changes; the directory's units are read live."""

    def __init__(
        self, policy: PolicyHolder, sources: frozenset[str], directory_units: Container[str]
    ) -> None:
        self._policy = policy
        self._sources = sources
        self._units = directory_units
        self._built: tuple[Policy, Vocabulary] | None = None

    def current(self) -> Vocabulary:
        policy = self._policy.current
        if self._built is None or self._built[0] is not policy:
            vocabulary = Vocabulary.of(policy, sources=self._sources, directory_units=self._units)
            self._built = (policy, vocabulary)
        return self._built[1]
