"""The quality department's policy: model, loading with readable errors, the default."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from schemas.policy.load import (
    PolicyError,
    Problem,
    load_policy,
    parse_policy,
    read_policy_text,
)
from schemas.policy.model import (
    CodeFilter,
    Localized,
    Policy,
    QuietHours,
    Reminder,
    Resource,
    Roles,
    Scheme,
    SupporterSelection,
    Timing,
    Triggers,
    WorkingHours,
)

DEFAULT_POLICY_NAME = "default-policy.yaml"


def default_policy_text() -> str:
    return (resources.files("schemas.policy") / DEFAULT_POLICY_NAME).read_text(encoding="utf-8")


def default_policy() -> Policy:
    return parse_policy(default_policy_text(), DEFAULT_POLICY_NAME)


def load_policy_or_default(path: Path | None) -> Policy:
    return default_policy() if path is None else load_policy(path)


__all__ = [
    "CodeFilter",
    "Localized",
    "Policy",
    "PolicyError",
    "Problem",
    "QuietHours",
    "Reminder",
    "Resource",
    "Roles",
    "Scheme",
    "SupporterSelection",
    "Timing",
    "Triggers",
    "WorkingHours",
    "default_policy",
    "default_policy_text",
    "load_policy",
    "load_policy_or_default",
    "parse_policy",
    "read_policy_text",
]
