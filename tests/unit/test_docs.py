"""Documentation that comes from code stays in step with it."""

from __future__ import annotations

from pathlib import Path

from runtime.settings_doc import variables, with_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_settings_table_matches_the_code() -> None:
    text = README.read_text(encoding="utf-8")
    assert text == with_table(text), "README settings table is stale: run `make docs`"


def test_every_setting_is_documented() -> None:
    undocumented = [v.name for v in variables() if not v.description]
    assert not undocumented


def test_readme_quick_start_is_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[1].split("```", 2)[1]
    assert quick_start.strip().splitlines()[1:] == ["make demo", "make test"]


def test_readme_example_policy_is_valid() -> None:
    from schemas.policy import parse_policy

    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- example-policy:start -->", 1)[1].split("<!-- example-policy:end -->")[
        0
    ]
    yaml_text = block.strip().removeprefix("```yaml").removesuffix("```")
    policy = parse_policy(yaml_text, "README example")
    assert policy.version == "2026-12-01.1"
