"""Throw-away copies of the repository's project for hostile-input tests, and a loader call that reports errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from guardrails_core.settings import load_stack_settings

from components.specs import DeclarationErrors, load_declarations

REPO = Path(__file__).resolve().parents[2]
SEED = (REPO / "services" / "multimodal-ai-inference.yaml").read_text()
FUNCTION = (REPO / "services" / "embeddings-batch.yaml").read_text()
VISIBILITY = "  labels:\n    networking.knative.dev/visibility: cluster-local\n"


def project(root: Path, *, seed: bool = True, function: bool = True, packs: bool = False) -> Path:
    """A project with the repo's program and stacks; the seed (made cluster-local so it passes) and the function."""
    shutil.copy(REPO / "__main__.py", root / "__main__.py")
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(REPO / "stacks", root / "stacks")
    shutil.copytree(REPO / "functions", root / "functions")
    (root / "services").mkdir()
    if seed:
        (root / "services" / "seed.yaml").write_text(seed_text())
    if function:
        (root / "services" / "fn.yaml").write_text(FUNCTION)
    if packs:
        for name in ("policy_packs",):
            (root / name).symlink_to(REPO / name, target_is_directory=True)
    return root


def seed_text() -> str:
    return SEED.replace("  namespace: ai-workloads\n", "  namespace: ai-workloads\n" + VISIBILITY, 1)


def errors_of(root: Path, stack: str = "dev") -> list[str]:
    """The loader's error lines for the project ([] when every declaration is valid)."""
    try:
        load_declarations(root, stack, load_stack_settings(root, stack))
    except DeclarationErrors as exc:
        return [str(e) for e in exc.errors]
    return []


def run_cli(root: Path, *args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "preflight", *args, "--project-dir", str(root)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=root,
                          env={**os.environ, **(env or {})})
