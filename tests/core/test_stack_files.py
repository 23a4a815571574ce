"""Stack config is found and read as the Pulumi CLI does, and what preflight cannot resolve fails closed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from guardrails_core.settings import (
    StackConfigError,
    load_stack_settings,
    read_stack_config,
    stack_config_name,
    stack_file,
)

REPO = Path(__file__).resolve().parents[2]


def _project(root: Path, *, config_dir: str | None = "stacks") -> Path:
    text = "name: serverless-guardrails\nruntime: python\n" + (f"stackConfigDir: {config_dir}\n" if config_dir else "")
    (root / "Pulumi.yaml").write_text(text)
    target = root / (config_dir or ".")
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "stacks" / "Pulumi.dev.yaml", target / "Pulumi.dev.yaml")
    return root


def test_stack_config_dir_is_honoured(tmp_path: Path) -> None:
    project = _project(tmp_path, config_dir="deploy/config")
    assert stack_file(project, "dev") == project / "deploy" / "config" / "Pulumi.dev.yaml"
    assert load_stack_settings(project, "dev").environment == "dev"


def test_without_stack_config_dir_the_files_sit_beside_pulumi_yaml(tmp_path: Path) -> None:
    project = _project(tmp_path, config_dir=None)
    assert stack_file(project, "dev") == project / "Pulumi.dev.yaml"
    assert load_stack_settings(project, "dev").environment == "dev"


def test_a_stack_config_dir_leaving_the_project_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    project = _project(tmp_path / "p")
    (project / "Pulumi.yaml").write_text("name: serverless-guardrails\nruntime: python\nstackConfigDir: ../elsewhere\n")
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(StackConfigError, match=r"Pulumi.yaml: stackConfigDir '../elsewhere' refused"):
        stack_file(project, "dev")


@pytest.mark.parametrize("name", ["dev", "acme/dev", "acme/serverless-guardrails/dev"])
def test_qualified_stack_names(tmp_path: Path, name: str) -> None:
    project = _project(tmp_path)
    assert stack_config_name(name, "serverless-guardrails") == "dev"
    assert load_stack_settings(project, name).environment == "dev"


def test_a_stack_of_another_project_is_never_read_as_this_one(tmp_path: Path) -> None:
    project = _project(tmp_path)
    with pytest.raises(StackConfigError, match=r"belongs to project 'other-project'; this project .* "
                                               r"'serverless-guardrails'"):
        load_stack_settings(project, "acme/other-project/dev")
    with pytest.raises(StackConfigError, match="expected <stack>, <org>/<stack>"):
        stack_config_name("a/b/c/d")


def test_esc_environments_fail_closed(tmp_path: Path) -> None:
    project = _project(tmp_path)
    path = project / "stacks" / "Pulumi.dev.yaml"
    path.write_text("environment:\n  - acme/budgets\n" + path.read_text())
    with pytest.raises(StackConfigError, match=r"Pulumi.dev.yaml: `environment:` imports Pulumi ESC environments "
                                               r"\(acme/budgets\)"):
        read_stack_config(project, "dev")


def test_encrypted_guardrails_settings_fail_closed_other_secrets_do_not(tmp_path: Path) -> None:
    project = _project(tmp_path)
    path = project / "stacks" / "Pulumi.dev.yaml"
    text = path.read_text().replace("config:\n", "config:\n  app:dbPassword:\n    secure: AAABAKx1\n", 1)
    path.write_text(text)
    assert "app:dbPassword" in read_stack_config(project, "dev")  # someone else's secret: not ours to read
    path.write_text(text.replace("config:\n", "config:\n  guardrails:owner:\n    secure: AAABAKx2\n", 1))
    with pytest.raises(StackConfigError, match=r"guardrails:owner is encrypted \(secure:\)"):
        read_stack_config(project, "dev")


def test_config_file_replaces_the_stack_file_for_every_process(tmp_path: Path) -> None:
    """`preflight --config-file alt.yaml`: preflight, the program and the packs all use alt.yaml (the CLI's flag)."""
    import json
    import subprocess
    import sys

    from tests.preflight.helpers import full_project

    (tmp_path / "p").mkdir()
    project = full_project(tmp_path / "p", {})
    shutil.copy(REPO / "services" / "multimodal-ai-inference.yaml", project / "services")
    alt = tmp_path / "alt.yaml"  # outside the project, as the CLI allows
    alt.write_text((REPO / "stacks" / "Pulumi.prod.yaml").read_text())

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "preflight", "preview", "--stack", "local", "--engine", "offline",
                               "--json", "--quiet", "--project-dir", str(project), *extra], capture_output=True,
                              text=True, timeout=600, cwd=project)

    missing = run("--config-file", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "nope.yaml: no such file (--config-file)" in missing.stderr
    result = run("--config-file", str(alt))
    assert result.returncode == 1, result.stderr[-2000:]
    doc = json.loads(result.stdout)
    assert doc["environment"] == "prod"  # preflight's own settings
    # the packs judged with prod's enforcement (high is mandatory in prod, advisory on local)
    assert any(v["severity"] == "high" and v["enforcement"] == "mandatory" for v in doc["violations"])
