"""Documentation that comes from code stays in step with it."""

from __future__ import annotations

from pathlib import Path

from runtime.settings_doc import page, variables

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_settings_page_matches_the_code() -> None:
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    assert text == page(), "docs/settings.md is stale: run `make docs`"


def test_every_setting_is_documented() -> None:
    undocumented = [v.name for v in variables() if not v.description]
    assert not undocumented


def test_the_example_policy_is_valid() -> None:
    from schemas.policy import parse_policy

    text = (DOCS / "policy.md").read_text(encoding="utf-8")
    block = text.split("<!-- example-policy:start -->", 1)[1].split("<!-- example-policy:end -->")[
        0
    ]
    yaml_text = block.strip().removeprefix("```yaml").removesuffix("```")
    policy = parse_policy(yaml_text, "docs/policy.md example")
    assert policy.version == "2026-12-01.1"
