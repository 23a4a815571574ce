"""The command line as a new user meets it: --version, examples, "did you mean", the stack and project found the
way `pulumi` finds them, and progress (counts, elapsed, ETA) on stderr even with --json."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from preflight.cli import parser, selected_stack
from preflight.progress import Progress
from tests.integration.helpers import require_cli

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "PULUMI_STACK"}
    environment.update({"NO_COLOR": "1", "COLUMNS": "120", "PULUMI_HOME": str(cwd / ".no-pulumi-home")})
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "preflight", *args], capture_output=True, text=True, cwd=cwd,
                          env=environment, timeout=300)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A copy of the repo's project (seed services), packs and models linked."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(REPO / name, root / name)
    for name in ("stacks", "services", "functions"):
        shutil.copytree(REPO / name, root / name)
    for name in ("policy_packs", "models"):
        (root / name).symlink_to(REPO / name, target_is_directory=True)
    return root


def test_version_and_examples_in_help() -> None:
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("preflight 0.")
    top = run("--help").stdout
    assert "examples:" in top and "preflight preview --stack prod --html" in top and "PULUMI_STACK" in top
    preview = run("preview", "--help").stdout
    assert "examples:" in preview and "--verbose" in preview


def test_every_option_has_help() -> None:
    missing = []
    top = parser()
    for sub in top._subparsers._group_actions:
        for name, command in sub.choices.items():
            for action in command._actions:
                if action.option_strings and not action.help:
                    missing.append(f"{name} {action.option_strings[0]}")
    assert missing == []


@pytest.mark.parametrize(("args", "hint"), [
    (["previw"], "did you mean 'preview'?"),
    (["policy-conifg"], "did you mean 'policy-config'?"),
    (["preview", "--stak", "prod"], "did you mean '--stack' (for '--stak')?"),
    (["preview", "--sairf", "x.sarif", "--stack", "local"], "did you mean '--sarif' (for '--sairf')?"),
])
def test_did_you_mean(args: list[str], hint: str) -> None:
    proc = run(*args)
    assert proc.returncode == 2
    assert hint in proc.stderr
    assert "Traceback" not in proc.stderr


def test_stack_from_pulumi_stack_and_project_found_upwards(project: Path) -> None:
    below = project / "services"
    proc = run("policy-config", cwd=below, env={"PULUMI_STACK": "prod"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)  # the prod policy config
    missing = run("policy-config", cwd=below)
    assert missing.returncode == 2
    assert "no stack given: pass --stack NAME, set PULUMI_STACK, or run `pulumi stack select`" in missing.stderr
    assert "dev, local, prod, staging" in missing.stderr
    nowhere = run("policy-config", "--stack", "prod", cwd=project.parent)
    assert nowhere.returncode == 2 and "no Pulumi.yaml in" in nowhere.stderr


def write_workspace(home: Path, project: Path, stack: str) -> None:
    """What `pulumi stack select` writes (sdk/go/common/workspace: <name>-<sha1(Pulumi.yaml path)>-workspace.json)."""
    digest = hashlib.sha1(str(project / "Pulumi.yaml").encode()).hexdigest()
    (home / "workspaces").mkdir(parents=True)
    (home / "workspaces" / f"serverless-guardrails-{digest}-workspace.json").write_text(json.dumps({"stack": stack}))


def test_selected_stack_is_the_default(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "pulumi-home"
    write_workspace(home, project, "organization/serverless-guardrails/local")
    monkeypatch.setenv("PULUMI_HOME", str(home))
    assert selected_stack(project) == "local"
    proc = run("policy-config", cwd=project / "services", env={"PULUMI_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    local = run("policy-config", "--stack", "local", cwd=project, env={"PULUMI_HOME": str(home)})
    assert proc.stdout == local.stdout  # the selected stack's config...
    explicit = run("policy-config", "--stack", "prod", cwd=project, env={"PULUMI_HOME": str(home)})
    assert explicit.stdout != proc.stdout  # ...and --stack wins over the selection (prod enforces more)


def test_selected_stack_from_the_real_cli(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = require_cli()
    home = tmp_path / "pulumi-home"
    (tmp_path / "state").mkdir()
    env = {**os.environ, "PULUMI_HOME": str(home), "PULUMI_BACKEND_URL": (tmp_path / "state").as_uri(),
           "PULUMI_CONFIG_PASSPHRASE": "", "PULUMI_SKIP_UPDATE_CHECK": "true"}
    subprocess.run([str(cli), "stack", "init", "dev", "--secrets-provider", "passphrase"], cwd=project, env=env,
                   check=True, capture_output=True, timeout=120)  # `stack init` also selects the stack
    monkeypatch.setenv("PULUMI_HOME", str(home))
    assert selected_stack(project) == "dev"


def test_progress_on_stderr_with_json_then_eta(project: Path) -> None:
    # The offline engine reports "running the program (N declarations)"; auto would pick the real CLI when built.
    first = run("preview", "--json", "--engine", "offline", cwd=project, env={"PULUMI_STACK": "local"})
    assert first.returncode == 1  # the seed blocks on local
    json.loads(first.stdout)  # stdout is only the report
    lines = first.stderr.splitlines()
    assert any("reading and validating declarations (2 files)" in line for line in lines)
    assert any("declarations)" in line for line in lines)
    assert any("cost and risk predictions (" in line and "resources)" in line for line in lines)
    assert all(line.startswith("[preflight ") for line in lines[:3])  # timed lines, not a spinner (no TTY)
    assert "BLOCK: `pulumi up` must not run" in first.stderr  # the gate summary reaches the log
    assert (project / ".preflight-cache" / "progress.json").is_file()
    second = run("preview", "--json", "--engine", "offline", cwd=project, env={"PULUMI_STACK": "local"})
    assert "ETA" in second.stderr  # the first run's timings give the second an estimate
    quiet = run("preview", "--json", "--quiet", cwd=project, env={"PULUMI_STACK": "local"})
    assert "[preflight" not in quiet.stderr and "BLOCK" in quiet.stderr


def test_heartbeat_lines_while_a_step_runs(tmp_path: Path) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200)
    with Progress(console, tmp_path, live=False, heartbeat=0.05) as progress:
        progress.phase("policy pack guardrails", key="pack", count=100, unit="resources")
        time.sleep(0.3)
    out = buffer.getvalue()
    assert "[preflight 0.0s] policy pack guardrails (100 resources)" in out
    assert "still running" in out
    assert json.loads((tmp_path / ".preflight-cache" / "progress.json").read_text())["pack"] > 0
    again = Progress(Console(file=io.StringIO()), tmp_path)
    again.phase("policy pack guardrails", key="pack", count=1000, unit="resources")
    assert again.eta() is not None and again.eta() > 0.5 and "ETA ~" in again.line()


def test_live_counts_and_an_eta_from_this_runs_rate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a step: N/M as the engine reports each item, and (without any history) an ETA from the rate so far."""
    clock = [100.0]
    monkeypatch.setattr("preflight.progress.time.perf_counter", lambda: clock[0])
    progress = Progress(Console(file=io.StringIO()), tmp_path, live=False)
    progress.phase("policy pack guardrails: 2252 resources", key="pack", count=2252, unit="resources")
    assert progress.eta() is None  # no history, nothing done yet: no made-up estimate
    clock[0] += 10.0
    for _ in range(563):
        progress.advance()
    line = progress.line()
    assert "563/2,252 resources" in line
    assert progress.eta() == pytest.approx(10.0 / 563 * (2252 - 563))  # 30 s left at this run's rate
    assert "ETA ~30s" in line


def test_a_counted_step_closes_with_what_it_did(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr("preflight.progress.time.perf_counter", lambda: clock[0])
    buffer = io.StringIO()
    with Progress(Console(file=buffer, width=200), tmp_path, live=False, heartbeat=3600) as progress:
        progress.phase("policy pack guardrails: 40 resources", key="pack", count=40, unit="resources")
        clock[0] += 4.0
        progress.advance(40)
        progress.phase("gate and report")
    assert "policy pack guardrails: 40 resources (40 resources): 40 resources in 4.0s (10.0/s)" in buffer.getvalue()


def test_a_policy_pack_that_is_not_a_folder_blocks_without_a_traceback(project: Path, tmp_path: Path) -> None:
    """The offline engine starts its packs before reading the declarations: a `--policy-pack` that is no pack
    folder is still an engine error in the report (the gate blocks), not a crash."""
    missing = tmp_path / "no-such-pack"
    result = run("preview", "--stack", "local", "--engine", "offline", "--policy-pack", str(missing), "--json",
                 "--project-dir", str(project))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    doc = json.loads(result.stdout)
    assert doc["gate"]["decision"] == "block"
    assert any(f"{missing} is not a directory" in error for error in doc["errors"]), doc["errors"]
