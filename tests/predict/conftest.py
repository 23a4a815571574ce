from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TRACE = Path("/work/shared/data/serverless-trace")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def trace_dir() -> Path:
    if not TRACE.exists():
        pytest.skip("the shared serverless trace is not mounted here")
    return TRACE
