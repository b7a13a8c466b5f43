"""Hot reload: a valid new policy file takes effect; an invalid or undecodable one is refused
and the old policy stays in force, with a log line that names the problem, never its text."""

from __future__ import annotations

import codecs
import io
import json
import random
import string
from pathlib import Path

import pytest

from runtime.logging import configure
from runtime.policy_holder import PolicyHolder
from schemas.policy import PolicyError, default_policy_text


def test_valid_change_takes_effect_invalid_change_is_refused(tmp_path: Path) -> None:
    log = io.StringIO()
    configure("info", log)
    path = tmp_path / "policy.yaml"
    path.write_text(default_policy_text())
    holder = PolicyHolder(path)
    assert holder.current.version == "default-2026-11"
    assert not holder.reload_if_changed()  # unchanged

    path.write_text(default_policy_text().replace("version: default-2026-11", "version: v2"))
    assert holder.reload_if_changed()
    assert holder.current.version == "v2"

    path.write_text(default_policy_text().replace("minimum_severity: none", "minimum_severity: x"))
    assert not holder.reload_if_changed()
    assert holder.current.version == "v2"
    records = [json.loads(line) for line in log.getvalue().splitlines()]
    refused = [r for r in records if r["event"].startswith("new policy refused")]
    assert len(refused) == 1
    assert refused[0]["policy_version"] == "v2"
    assert refused[0]["problems"] == [
        f"{path}:16: triggers.minimum_severity: Input should be "
        "'none', 'mild', 'moderate', 'severe' or 'death'"
    ]
    assert not holder.reload_if_changed()  # the same bad content is not re-logged

    path.unlink()
    assert not holder.reload_if_changed()
    assert holder.current.version == "v2"


def marker() -> str:
    return "MRK" + "".join(random.choices(string.ascii_uppercase, k=12))


def test_an_undecodable_change_is_refused_by_line_never_quoted(tmp_path: Path) -> None:
    log = io.StringIO()
    configure("info", log)
    path = tmp_path / "policy.yaml"
    path.write_bytes(codecs.BOM_UTF16_LE + default_policy_text().encode("utf-16-le"))
    holder = PolicyHolder(path)
    secret = marker()
    path.write_bytes(f"version: v3\nowner: æøå {secret}\n".encode("latin-1"))

    assert not holder.reload_if_changed()
    assert not holder.reload_if_changed()  # logged once
    assert holder.current.version == "default-2026-11"
    refused = [r for r in map(json.loads, log.getvalue().splitlines()) if r["level"] == "error"]
    assert [r["problems"] for r in refused] == [
        [f"{path}:2: $: the file is not UTF-8 text; save the file as UTF-8"]
    ]
    assert secret not in log.getvalue()


def test_a_policy_that_cannot_be_read_at_start_is_a_policy_error(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    secret = marker()
    path.write_text(f"version: v1\nowner: *{secret}\n")
    with pytest.raises(PolicyError) as caught:
        PolicyHolder(path)
    assert str(caught.value) == f"{path}:2: $: not valid YAML: found undefined alias '...'"
    with pytest.raises(PolicyError):
        PolicyHolder(tmp_path / "absent.yaml")
