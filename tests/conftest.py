"""Shared test helpers: repository paths and the team's shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The real Kubernetes API server (`local_cluster` fixture) for every test directory.
pytest_plugins = ["tests.fixtures.cluster"]


def shared_dir() -> Path:
    """`../shared` beside the clone (where CI puts it), or GUARDRAILS_SHARED_DIR."""
    return Path(os.environ.get("GUARDRAILS_SHARED_DIR", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    if not (path / "data").is_dir():
        pytest.fail(f"shared data folder not found at {path} (set GUARDRAILS_SHARED_DIR)")
    return path
