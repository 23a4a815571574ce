"""Shared fixtures for the report tests: the realistic sample document and a clean one."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchmarks.generate import generate

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture()
def sample() -> dict[str, Any]:
    """Violations of every severity, predictions with contributions, supply chain, a block and an override."""
    return copy.deepcopy(load_fixture("sample_report.json"))


@pytest.fixture()
def clean() -> dict[str, Any]:
    """Nothing planned, nothing found: the gate passes."""
    return copy.deepcopy(load_fixture("clean_report.json"))


REPO = Path(__file__).resolve().parents[2]


def _preview(project: Path, stack: str) -> dict[str, Any]:
    """The real `preflight preview` (offline engine) on a throw-away project; the JSON report it kept."""
    for name in ("policy_packs", "models"):
        (project / name).symlink_to(REPO / name, target_is_directory=True)
    proc = subprocess.run([sys.executable, "-m", "preflight", "preview", "--stack", stack, "--engine", "offline",
                           "--quiet", "--json", "--project-dir", str(project)],
                          capture_output=True, text=True, timeout=900, cwd=project, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def generated_report(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], dict[str, Any]]:
    """`generated_report(n)`: the prod report for n services from benchmarks/generate.py (0: the repo's seed)."""
    cache: dict[int, dict[str, Any]] = {}

    def get(count: int) -> dict[str, Any]:
        if count not in cache:
            root = tmp_path_factory.mktemp(f"generated-{count}")
            if count:
                generate(root, count)
            else:  # the seed example as committed
                for name in ("__main__.py", "Pulumi.yaml"):
                    shutil.copy(REPO / name, root / name)
                for name in ("stacks", "functions", "services"):
                    shutil.copytree(REPO / name, root / name)
            cache[count] = _preview(root, "prod")
        return copy.deepcopy(cache[count])

    return get
