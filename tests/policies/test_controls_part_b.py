"""Direct fixture tests for the part-B controls (Lambda, IAM, logs, tagging/FinOps, data classification).

Each fixture is run through `guardrails_pack.runtime`, which builds the same prop proxies pulumi-policy
builds in `Analyze` (unknowns raise on read, secrets are unwrapped, numbers are floats), and the outcome
is compared with the control's `expected.yaml`. The CrossGuard fixture runner replays the same files over gRPC.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACK_DIR = REPO / "policy_packs" / "guardrails"
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))

from guardrails_pack.context import StackResource  # noqa: E402
from guardrails_pack.control import ResourceControl  # noqa: E402
from guardrails_pack.discovery import ControlUnit, discover_units  # noqa: E402
from guardrails_pack.runtime import Outcome, evaluate_resource, evaluate_stack, runtime_props  # noqa: E402

from preflight.crossguard.control_fixtures import fixture_options, fixture_settings, load_expected, load_fixture  # noqa: E402

PART_B_AREAS = ("lam", "iam", "log", "tag", "fin", "dc", "exc", "gitops")


def part_b_units() -> list[ControlUnit]:
    return [u for u in discover_units() if u.folder.parent.name in PART_B_AREAS]


def run_fixture(unit: ControlUnit, fixture_path: Path) -> Outcome:
    fixture = load_fixture(fixture_path)
    settings = fixture_settings(fixture)
    control = unit.control
    if isinstance(control, ResourceControl):
        assert not fixture.stack, f"{fixture_path}: resource controls take a single-resource fixture"
        res = fixture.resource
        outcome = evaluate_resource(control, res.type, runtime_props(res.properties), settings,
                                    name=res.name, urn=f"urn:pulumi:test::proj::{res.type}::{res.name}",
                                    config=fixture_options(fixture, REPO))
        assert outcome is not None, f"{fixture_path}: type {res.type} is not one of {control.resource_types}"
        return outcome
    resources = [StackResource(type=r.type, name=r.name, urn=f"urn:pulumi:test::proj::{r.type}::{r.name}",
                               props=runtime_props(r.properties)) for r in fixture.resources]
    return evaluate_stack(control, resources, settings, config=fixture_options(fixture, REPO))


CASES = [
    pytest.param(unit, item.fixture, item.result, id=f"{unit.control.id}:{item.fixture}")
    for unit in part_b_units()
    for item in load_expected(unit.expected_file)
]


def test_part_b_has_enough_controls() -> None:
    units = part_b_units()
    assert len(units) >= 25, [u.control.id for u in units]
    dc_like = [u for u in units if u.folder.parent.name in ("dc", "exc", "gitops")]
    assert len(dc_like) >= 10, [u.control.id for u in dc_like]


@pytest.mark.parametrize("unit", part_b_units(), ids=lambda u: u.control.id)
def test_fixtures_listed_and_balanced(unit: ControlUnit) -> None:
    expected = {e.fixture: e.result for e in load_expected(unit.expected_file)}
    on_disk = {p.name for p in unit.fixtures_dir.glob("*.yaml")}
    assert on_disk == set(expected), f"{unit.expected_file}: fixtures on disk and in expected.yaml differ"
    assert any(n.startswith("good-") and r == "pass" for n, r in expected.items()), "needs a passing good-*"
    assert any(n.startswith("bad-") and r != "pass" for n, r in expected.items()), "needs a failing bad-*"
    for name, result in expected.items():
        assert (result == "pass") == name.startswith("good-"), f"{name}: good-* must pass, bad-* must not"


@pytest.mark.parametrize(("unit", "fixture", "result"), CASES)
def test_fixture_outcome(unit: ControlUnit, fixture: str, result: str) -> None:
    outcome = run_fixture(unit, unit.fixtures_dir / fixture)
    assert outcome.status == result, f"{fixture}: expected {result}, got {outcome.status}: {outcome.messages}"
    for message in outcome.messages:
        assert message.strip(), "violation messages must not be empty"


def test_required_tags_remediation_adds_defaults_and_keeps_unknowns() -> None:
    from guardrails_core.settings import StackSettings
    from guardrails_core.values import UNKNOWN, UNKNOWN_SENTINEL, to_wire
    from guardrails_pack.context import ResourceContext

    unit = next(u for u in part_b_units() if u.control.id == "tag.required-keys")
    settings = StackSettings.model_validate({"environment": "dev", "default_tags": {"owner": "platform"}})
    props = runtime_props({"name": "f", "role": UNKNOWN, "tags": {"cost-center": "A", "project-id": "p"}})
    ctx = ResourceContext("aws:lambda/function:Function", props, "f", "urn:f", settings)
    fixed = unit.control.remediate(ctx)
    assert fixed is not None
    assert fixed["tags"] == {"cost-center": "A", "project-id": "p", "owner": "platform"}
    assert fixed["role"] is UNKNOWN  # controls edit a plain copy; the pack's wrapper puts it back on the wire
    assert to_wire(fixed)["role"] == UNKNOWN_SENTINEL  # so unknowns go back to the engine unchanged
    after = evaluate_resource(unit.control, "aws:lambda/function:Function", runtime_props(to_wire(fixed)), settings)
    assert after is not None and after.status == "pass"
    # Nothing to add when the missing key has no default: remediation declines, the violation stays.
    bare = ResourceContext("aws:lambda/function:Function", runtime_props({"tags": {}}), "f", "urn:f",
                           StackSettings.model_validate({"environment": "dev"}))
    assert unit.control.remediate(bare) is None
