""".github/workflows/preview.yml: actionlint (with shellcheck) is clean, and the workflow does what the reports
need — a sticky comment found by preflight's own marker, SARIF to code scanning, a matrix over the stacks a PR
touches, the gate in the log and the step summary, one PULUMI_HOME, artifacts."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from preflight.report import render_markdown
from preflight.report.markdown import marker

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "preview.yml"
# Built by .ci/run from the Go module proxy (`go install github.com/rhysd/actionlint/cmd/actionlint@latest`).
TOOLS_BIN = Path(os.environ.get("GUARDRAILS_TOOLS_DIR", Path.home() / ".cache" / "serverless-guardrails" / "tools"))
REQUIRE_ENV = "GUARDRAILS_REQUIRE_ACTIONLINT"


def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def steps(job: str) -> list[dict[str, Any]]:
    return workflow()["jobs"][job]["steps"]


def actionlint() -> str:
    found = shutil.which("actionlint") or next(
        (str(p) for p in [TOOLS_BIN / "bin" / "actionlint"] if p.exists()), None)
    problem = None
    if found is None:
        problem = "actionlint not built (go install github.com/rhysd/actionlint/cmd/actionlint@latest)"
    elif shutil.which("shellcheck") is None:
        problem = "shellcheck not installed (apt-get install shellcheck): actionlint would skip the run: scripts"
    if problem:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{problem} ({REQUIRE_ENV}=1 forbids skipping)")
        pytest.skip(problem)
    assert found is not None
    return found


def test_actionlint_is_clean() -> None:
    proc = subprocess.run([actionlint(), "-color=false", str(WORKFLOW)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_what_the_old_workflow_had(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"  # the old gate step: shellcheck SC2242 through actionlint
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - id: p\n        run: echo exit=1 >> \"$GITHUB_OUTPUT\"\n"
                   "      - run: exit \"${{ steps.p.outputs.exit }}\"\n")
    proc = subprocess.run([actionlint(), "-color=false", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1 and "SC2242" in proc.stdout


def test_sticky_comment_uses_preflights_marker_and_never_edit_last(sample: dict[str, Any]) -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "--edit-last" not in text
    step = next(s for s in steps("preview") if s.get("name", "").startswith("Sticky PR comment"))
    assert 'marker=$(head -n 1 "$report")' in step["run"] and "startswith" in step["run"]
    assert "--method PATCH" in step["run"]
    # the marker the step reads is the first line preflight writes, and it names project and stack
    assert render_markdown(sample).splitlines()[0] == marker(sample) == \
        "<!-- preflight-report:serverless-guardrails/prod -->"
    pulumi_action = next(s for s in steps("preview") if s.get("uses", "").startswith("pulumi/actions")
                         and s.get("with", {}).get("command") == "preview")
    assert pulumi_action["with"]["comment-on-pr"] is False


def test_sarif_uploaded_with_security_events_permission() -> None:
    job = workflow()["jobs"]["preview"]
    assert job["permissions"]["security-events"] == "write"
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["category"] == "preflight-${{ matrix.stack }}"
    run = next(s for s in job["steps"] if s.get("id") == "preflight")["run"]
    assert "--sarif" in run and "--html" in run and "--markdown" in run and "--quiet" not in run
    assert 'GITHUB_STEP_SUMMARY' in run


def test_one_pulumi_home_and_artifacts() -> None:
    flow = workflow()
    assert flow["env"]["PULUMI_HOME"] == flow["env"]["GUARDRAILS_PULUMI_HOME"] == "${{ github.workspace }}/.pulumi-home"
    assert "~/.pulumi" not in WORKFLOW.read_text(encoding="utf-8")
    artifact = next(s for s in steps("preview") if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert "out/preflight-${{ matrix.stack }}.*" in artifact["with"]["path"]


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


@pytest.mark.parametrize(("changed", "expected"), [
    (["stacks/Pulumi.prod.yaml"], '["prod"]'),
    (["services/overlays/dev/patch.yaml", "stacks/Pulumi.staging.yaml"], '["dev","staging"]'),
    (["services/new-service.yaml"], '["dev","local","prod","staging"]'),
    (["stacks/Pulumi.prod.yaml", "preflight/gate.py"], '["dev","local","prod","staging"]'),
])
def test_matrix_covers_the_stacks_a_pr_touches(tmp_path: Path, changed: list[str], expected: str) -> None:
    if shutil.which("jq") is None:
        pytest.skip("jq not installed (GitHub's runners have it)")
    repo = tmp_path / "repo"
    for stack in ("dev", "local", "prod", "staging"):
        path = repo / "stacks" / f"Pulumi.{stack}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("config: {}\n")
    git(tmp_path, "init", "-q", str(repo))
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD")
    for name in changed:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("changed: true\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "pr")
    script = next(s for s in steps("stacks") if s.get("id") == "pick")["run"]
    output = tmp_path / "github_output"
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=repo, check=True, capture_output=True, text=True,
                   env={**os.environ, "BASE_SHA": base, "GITHUB_OUTPUT": str(output)})
    assert output.read_text().strip() == f"stacks={expected}"
    matrix = workflow()["jobs"]["preview"]["strategy"]["matrix"]["stack"]
    assert matrix == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
