"""Hot reload: a valid new policy file takes effect; an invalid one is refused and the old
policy stays in force, with a log line that names the problem."""

from __future__ import annotations

import io
import json
from pathlib import Path

from runtime.logging import configure
from schemas.policy import default_policy_text
from streams.policy.holder import PolicyHolder


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
