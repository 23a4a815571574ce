"""`pulumi-aws` is the `[aws]` extra: a Knative-only install runs without it, a Lambda stack says what to install.

"Not installed" is made real for the whole process tree: a `sitecustomize` on PYTHONPATH makes every
`import pulumi_aws` fail exactly as it does when the distribution is absent (ModuleNotFoundError), in preflight
and in the program processes it starts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.preflight.helpers import full_project

BLOCKER = '''
import importlib.abc
import sys


class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "pulumi_aws" or name.startswith("pulumi_aws."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
'''


@pytest.fixture()
def without_aws(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "no-aws"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "NO_COLOR": "1", "COLUMNS": "160"}


def _preflight(project: Path, env: dict[str, str], stack: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "preflight", "preview", "--stack", stack, "--engine", "offline",
                           "--json", "--project-dir", str(project)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=project)


def test_the_blocker_really_hides_pulumi_aws(without_aws: dict[str, str]) -> None:
    probe = subprocess.run([sys.executable, "-c", "import pulumi_aws"], env=without_aws, capture_output=True,
                           text=True, timeout=60)
    assert probe.returncode != 0 and "No module named 'pulumi_aws'" in probe.stderr


def test_knative_only_stack_runs_without_the_aws_provider(tmp_path: Path, without_aws: dict[str, str]) -> None:
    project = full_project(tmp_path, {})
    shutil.copy(Path(__file__).resolve().parents[2] / "services" / "multimodal-ai-inference.yaml",
                project / "services")
    result = _preflight(project, without_aws, "local")
    assert result.returncode in (0, 1), result.stderr[-3000:]  # pass or block: a result, not an error
    assert "pulumi_aws" not in result.stderr


def test_lambda_stack_without_the_aws_provider_names_the_extra(tmp_path: Path, without_aws: dict[str, str]) -> None:
    project = full_project(tmp_path, {})
    shutil.copy(Path(__file__).resolve().parents[2] / "services" / "embeddings-batch.yaml", project / "services")
    result = _preflight(project, without_aws, "dev")
    assert result.returncode == 2, result.stderr[-3000:]
    assert "services/embeddings-batch.yaml" in result.stderr
    assert "serverless-guardrails[aws]" in result.stderr
    assert "Traceback" not in result.stderr
