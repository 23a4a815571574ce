"""`preview --compare-to deployed`: the change priced against the stack's last deployment on its backend (the real
Pulumi CLI, a file backend holding an imported deployment of the same program)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from guardrails_core.values import is_unknown

from preflight.engine.pulumi_cli import offline_env
from tests.foundation.helpers import REPO, run
from tests.integration.helpers import require_cli
from tests.observe.test_observe_cli import FUNCTION
from tests.preflight.helpers import full_project

STACK_URN = "urn:pulumi:dev::serverless-guardrails::pulumi:pulumi:Stack::serverless-guardrails-dev"
CLI_VERSION = "v3.274.0"


def _plain(value):
    if is_unknown(value):
        return "known-after-deploy"
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _deploy_state(project: Path, env: dict[str, str], cli: Path) -> None:
    """The program's resources as `pulumi up` would have left them, imported with `pulumi stack import`."""
    resources = [{"urn": STACK_URN, "custom": False, "type": "pulumi:pulumi:Stack"}]
    for res in run(project, "dev"):
        if res.type.startswith("pulumi:providers:"):
            continue  # default providers: not needed to read the inputs back
        entry = {"urn": res.urn, "custom": res.custom, "type": res.type, "inputs": _plain(res.inputs),
                 "outputs": _plain(res.inputs), "parent": res.parent or STACK_URN}
        if res.custom:
            entry["id"] = res.name
        resources.append(entry)
    manifest = {"time": "2026-11-30T00:00:00Z", "version": CLI_VERSION,
                "magic": hashlib.sha256(CLI_VERSION.encode()).hexdigest()}  # Pulumi's integrity cookie
    path = project / "deployment.json"
    path.write_text(json.dumps({"version": 3, "deployment": {"manifest": manifest, "resources": resources}}))
    for args in (["stack", "init", "dev", "--non-interactive"],
                 ["stack", "import", "--file", str(path), "--stack", "dev", "--non-interactive"]):
        done = subprocess.run([str(cli), *args], cwd=project, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr


def _preview(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "preflight", "preview", "--stack", "dev", "--engine", "offline",
                           "--compare-to", "deployed", "--quiet", "--project-dir", str(project), *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return full_project(tmp_path, {"embeddings-batch.yaml": FUNCTION.format(name="embeddings-batch", extra="")})


def test_compare_to_deployed_prices_what_runs_now_against_the_change(project: Path, tmp_path: Path) -> None:
    cli = require_cli()
    state = tmp_path / "state"
    state.mkdir()
    env = {**os.environ, **offline_env(REPO, cli), "PULUMI_BACKEND_URL": state.as_uri(), "NO_COLOR": "1"}
    env["PATH"] = f"{cli.parent}{os.pathsep}{env.get('PATH', '')}"
    _deploy_state(project, env, cli)
    declaration = project / "services" / "embeddings-batch.yaml"
    declaration.write_text(declaration.read_text().replace("memoryMib: 1024", "memoryMib: 2048"))
    done = _preview(project, env, "--backend", state.as_uri(), "--json", "--markdown", "out/comment.md")
    assert done.returncode in (0, 1), done.stderr[-2000:]
    doc = json.loads(done.stdout)
    comparison = doc["comparison"]
    assert comparison["base"]["source"] == f"deployed: pulumi stack export ({state.as_uri()}, stack dev)"
    [entry] = comparison["cost"]["services"]
    # Deployed: 2M requests x 0.18 s x 1 GB x $0.0000133334 (arm64, us-east-1) = 4.800024 + 2M x $0.20/M = 0.40
    # -> $5.20; the change doubles the memory: 2M x 0.18 s x 2 GB x $0.0000133334 = 9.600048 + 0.40 -> $10.00;
    # P50 +$4.80, all of it duration.
    assert (entry["base"]["p50"], entry["head"]["p50"], entry["delta"]["p50"]) == (5.2, 10.0, 4.8)
    assert entry["line_items"]["duration"] == {"base": 4.8, "head": 9.6, "delta": 4.8}
    assert entry["line_items"]["requests"]["delta"] == 0.0
    # The deployed resources went through the same packs: the findings both have are not "new"
    assert comparison["findings"]["new"] == [] and comparison["findings"]["unchanged"] > 0
    comment = (project / "out" / "comment.md").read_text()
    assert "### Cost diff vs <code>deployed: pulumi stack export (" in comment and "+$4.80" in comment


def test_compare_to_deployed_without_a_deployment_is_exit_2(project: Path) -> None:
    done = _preview(project, {**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 2
    assert ("--compare-to deployed: no deployed state of stack dev to compare with: first deploy (no Pulumi "
            "backend in use") in done.stderr
    assert "Traceback" not in done.stderr
