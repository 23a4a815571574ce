"""Run the real `preflight` command on throw-away projects (the repo's program, stacks, packs and models)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.foundation.helpers import REPO, make_project


def full_project(root: Path, services: dict[str, str]) -> Path:
    project = make_project(root, services)
    # .venv too: the real CLI engine runs the program with Pulumi.yaml's `virtualenv: .venv`.
    for name in ("policy_packs", ".venv"):
        (project / name).symlink_to(REPO / name, target_is_directory=True)
    # Code folders are copied: a symlink leaving the project is refused (it would be zipped and uploaded).
    shutil.copytree(REPO / "functions", project / "functions")
    return project


def preflight(project: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "preflight", *args, "--project-dir", str(project)],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=project)


def report(project: Path, stack: str = "local") -> dict:
    return json.loads((project / "out" / f"preflight-{stack}.json").read_text())
