"""The four prediction controls of the guardrails pack against their fixtures (the pack's own runtime)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "policy_packs/guardrails"))

from guardrails_pack.context import StackResource  # noqa: E402
from guardrails_pack.discovery import discover_units  # noqa: E402
from guardrails_pack.runtime import evaluate_stack  # noqa: E402

from preflight.crossguard.control_fixtures import fixture_options, fixture_settings, load_expected, load_fixture  # noqa: E402

IDS = ("fin.predicted-cost-within-budget", "fin.budget-cap-per-cost-center", "fin.cost-anomaly",
       "risk.ml-threshold")
UNITS = [u for u in discover_units() if u.control.id in IDS]
CASES = [(u, f) for u in UNITS for f in sorted(u.fixtures_dir.glob("*.yaml"))]


def test_all_prediction_controls_are_discovered() -> None:
    assert sorted(u.control.id for u in UNITS) == sorted(IDS)


@pytest.mark.parametrize(("unit", "path"), CASES, ids=[f"{u.control.id}/{p.name}" for u, p in CASES])
def test_fixture_matches_expected(unit, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("GUARDRAILS_PROJECT_DIR", str(REPO))
    expected = {e.fixture: e.result for e in load_expected(unit.expected_file)}
    fixture = load_fixture(path)
    resources = [StackResource(r.type, r.name, f"urn:pulumi:test::p::{r.type}::{r.name}", r.properties)
                 for r in fixture.resources]
    outcome = evaluate_stack(unit.control, resources, fixture_settings(fixture), fixture_options(fixture, REPO))
    assert outcome.status == expected[path.name], outcome.messages
    if outcome.status == "fail":
        assert all(m.strip() for m in outcome.messages)
