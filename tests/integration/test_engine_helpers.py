"""CLI-free checks of preflight.engine.pulumi_cli: event decoding, provenance, the project work copy."""

from __future__ import annotations

from pathlib import Path

import pytest
from guardrails_core.values import UNKNOWN, UNKNOWN_SENTINEL, Secret

from preflight.engine import pulumi_cli
from tests.integration.helpers import project_copy


def test_event_values_become_preflight_markers() -> None:
    decoded = pulumi_cli._from_event_value({"a": [UNKNOWN_SENTINEL, "[secret]", 3], "b": {"c": "x"}})
    assert decoded["a"][0] is UNKNOWN
    assert isinstance(decoded["a"][1], Secret)
    assert decoded["a"][2] == 3 and decoded["b"] == {"c": "x"}


def test_work_copy_keeps_user_files_untouched_and_salt_with_the_state(tmp_path: Path) -> None:
    project = project_copy(tmp_path, {})
    config = project / "stacks" / "Pulumi.local.yaml"
    original = config.read_text()
    backend = tmp_path / "state"

    with pulumi_cli._work_copy(project, "local", backend) as copy:
        assert (copy / ".venv").resolve() == (pulumi_cli.repo_root() / ".venv").resolve()
        assert (copy / "rendered").resolve() == pulumi_cli.rendered_dir(backend)
        copied = copy / "stacks" / "Pulumi.local.yaml"
        copied.write_text("encryptionsalt: v1:abc:def\n" + copied.read_text())  # what `stack init` does
    assert config.read_text() == original
    assert (backend / ".guardrails" / "local.encryptionsalt").read_text().strip() == "v1:abc:def"

    with pulumi_cli._work_copy(project, "local", backend) as copy:
        assert (copy / "stacks" / "Pulumi.local.yaml").read_text().startswith("encryptionsalt: v1:abc:def\n")


def test_bad_stack_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(pulumi_cli.PulumiCliError, match="stack name"):
        pulumi_cli._check_inputs(pulumi_cli.repo_root(), "../etc", [])
