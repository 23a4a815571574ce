"""Build throw-away projects (the real __main__.py, stacks and components) and run them under Pulumi mocks."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from guardrails_core.settings import read_stack_config

from preflight.engine.base import PlannedResource
from preflight.engine.mock_runner import run_program

REPO = Path(__file__).resolve().parents[2]
KSVC = "kubernetes:serving.knative.dev/v1:Service"


def make_project(root: Path, services: dict[str, str], *, with_repo_services: bool = False) -> Path:
    """A project dir with the repo's program and stacks, and the given files under services/."""
    shutil.copy(REPO / "__main__.py", root / "__main__.py")
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(REPO / "stacks", root / "stacks")
    if with_repo_services:
        shutil.copytree(REPO / "services", root / "services")
        shutil.copytree(REPO / "functions", root / "functions")
    (root / "services").mkdir(exist_ok=True)
    for name, text in services.items():
        path = root / "services" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def run(project: Path, stack: str, *, preview: bool = True) -> list[PlannedResource]:
    return run_program(project, stack, read_stack_config(project, stack), project="serverless-guardrails",
                       preview=preview)


def by_type(resources: list[PlannedResource], type_token: str) -> list[PlannedResource]:
    return [r for r in resources if r.type == type_token]
