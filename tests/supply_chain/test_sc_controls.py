"""The sc.* controls' fixtures, run the way the pack runs them (pulumi-policy prop proxies)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACK_DIR = REPO / "policy_packs" / "guardrails"
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))

from guardrails_pack.discovery import ControlUnit, discover_units  # noqa: E402
from guardrails_pack.runtime import evaluate_resource, runtime_props  # noqa: E402

from preflight.crossguard.control_fixtures import fixture_options, fixture_settings, load_expected, load_fixture  # noqa: E402


def sc_units() -> list[ControlUnit]:
    return [u for u in discover_units() if u.folder.parent.name == "sc"]


def test_three_sc_controls() -> None:
    assert sorted(u.control.id for u in sc_units()) == ["sc.artifact-signed", "sc.vuln-gate", "sc.vuln-report-fresh"]


CASES = [
    pytest.param(unit, item.fixture, item.result, id=f"{unit.control.id}:{item.fixture}")
    for unit in sc_units()
    for item in load_expected(unit.expected_file)
]


@pytest.mark.parametrize(("unit", "fixture", "result"), CASES)
def test_fixture_outcome(unit: ControlUnit, fixture: str, result: str) -> None:
    fx = load_fixture(unit.fixtures_dir / fixture)
    res = fx.resource
    outcome = evaluate_resource(unit.control, res.type, runtime_props(res.properties), fixture_settings(fx),
                                name=res.name, urn=f"urn:pulumi:test::proj::{res.type}::{res.name}",
                                config=fixture_options(fx, REPO))
    assert outcome is not None
    assert outcome.status == result, f"{fixture}: expected {result}, got {outcome.status}: {outcome.messages}"
    assert all(m.strip() for m in outcome.messages)


@pytest.mark.parametrize("unit", sc_units(), ids=lambda u: u.control.id)
def test_fixtures_listed(unit: ControlUnit) -> None:
    expected = {e.fixture for e in load_expected(unit.expected_file)}
    assert expected == {p.name for p in unit.fixtures_dir.glob("*.yaml")}
