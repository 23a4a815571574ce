"""Shared fixtures for the report tests: the realistic sample document and a clean one."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

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
