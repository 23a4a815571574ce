"""Every part-A control (pod.*, kn.*, img.*) against its fixtures, plus metadata checks for every control.

Props go through `guardrails_pack.runtime.runtime_props`, i.e. the same Struct -> deserialize ->
unknown-checking proxy path pulumi-policy's `Analyze` uses, so unknowns raise and numbers are floats.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from guardrails_pack.context import StackResource
from guardrails_pack.control import SEVERITIES, ResourceControl
from guardrails_pack.discovery import ControlUnit, discover_units
from guardrails_pack.runtime import Outcome, evaluate_resource, evaluate_stack, runtime_props

from preflight.crossguard.control_fixtures import fixture_options, fixture_settings, load_expected, load_fixture

REPO = Path(__file__).resolve().parents[2]
PART_A_AREAS = ("pod", "kn", "img")

# Peer ids the anchors table (research/policy-anchors.md §1a-1c) lists for each part-A control; the control
# must carry at least these. Controls absent here have no peer in the table (Knative-only or ours).
ANCHOR_PEERS: dict[str, set[str]] = {
    "pod.no-privileged": {"CKV_K8S_16", "polaris:runAsPrivileged"},
    "pod.no-host-namespaces": {"CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"},
    "pod.no-host-path": {"CKV_K8S_27", "polaris:hostPathSet"},
    "pod.no-host-ports": {"CKV_K8S_26", "polaris:hostPortSet"},
    "pod.no-privilege-escalation": {"CKV_K8S_20", "polaris:privilegeEscalationAllowed"},
    "pod.run-as-non-root": {"CKV_K8S_23", "CKV_K8S_40", "polaris:runAsRootAllowed"},
    "pod.drop-all-caps": {"CKV_K8S_37", "CKV_K8S_28"},
    "pod.no-dangerous-caps": {"CKV_K8S_25", "CKV_K8S_39"},
    "pod.seccomp-runtime-default": {"CKV_K8S_31"},
    "pod.read-only-rootfs": {"CKV_K8S_22"},
    "pod.pss-misc": {"kyverno:pod-security/baseline/disallow-proc-mount"},
    "pod.volume-types-allowlist": {"kyverno:pod-security/restricted/restrict-volume-types"},
    "pod.resources-set": {"CKV_K8S_10", "CKV_K8S_12", "CKV_K8S_13"},
    "pod.cpu-limit-stance": {"CKV_K8S_11", "kyverno:other/forbid-cpu-limits"},
    "pod.qos-memory-equal": {"kyverno:other/memory-requests-equal-limits"},
    "pod.probes": {"CKV_K8S_8", "CKV_K8S_9"},
    "pod.no-secrets-in-env": {"CKV_K8S_35", "polaris:sensitiveContainerEnvVar"},
    "pod.sa-token-automount": {"CKV_K8S_38"},
    "pod.no-default-sa": {"CKV_K8S_41", "CKV_K8S_42"},
    "pod.no-default-namespace": {"CKV_K8S_21"},
    "pod.network-policy": {"CKV2_K8S_6", "polaris:missingNetworkPolicy"},
    "img.no-latest-tag": {"CKV_K8S_14", "kyverno:best-practices/disallow-latest-tag"},
    "img.digest-pinned": {"CKV_K8S_43"},
    "img.registry-allowlist": {"kyverno:best-practices/restrict-image-registries"},
    "img.pull-policy": {"CKV_K8S_15"},
    "kn.timeout-seconds": {"kics:e8bb41e4-2f24-4e84-8bea-8c7c070cf93d"},
    "kn.recommended-labels": {"kyverno:best-practices/require-labels"},
}
# Remediations the brief requires.
REMEDIATING = {"kn.recommended-labels", "pod.no-privilege-escalation", "pod.run-as-non-root",
               "pod.seccomp-runtime-default", "pod.drop-all-caps"}


def part_a_units() -> list[ControlUnit]:
    return [u for u in discover_units() if u.control.area in PART_A_AREAS]


def run_fixture(unit: ControlUnit, path: Path) -> Outcome:
    fixture = load_fixture(path)
    settings = fixture_settings(fixture)
    control = unit.control
    if isinstance(control, ResourceControl):
        assert not fixture.stack, f"{path}: a resource control takes a single-resource fixture"
        res = fixture.resource
        outcome = evaluate_resource(control, res.type, runtime_props(res.properties), settings, name=res.name,
                                    urn=f"urn:pulumi:test::p::{res.type}::{res.name}",
                                    config=fixture_options(fixture, REPO))
        assert outcome is not None, f"{path}: type {res.type} is not in {control.id}'s resource_types"
        return outcome
    resources = [StackResource(r.type, r.name, f"urn:pulumi:test::p::{r.type}::{r.name}", runtime_props(r.properties))
                 for r in fixture.resources]
    return evaluate_stack(control, resources, settings, fixture_options(fixture, REPO))


CASES = [(u, f) for u in part_a_units() for f in sorted(u.fixtures_dir.glob("*.yaml"))]


def test_part_a_has_at_least_30_controls() -> None:
    assert len(part_a_units()) >= 30


@pytest.mark.parametrize("unit,path", CASES, ids=[f"{u.control.id}/{p.name}" for u, p in CASES])
def test_fixture_matches_expected(unit: ControlUnit, path: Path) -> None:
    expected = {e.fixture: e.result for e in load_expected(unit.expected_file)}
    assert path.name in expected, f"{path} is not listed in {unit.expected_file}"
    outcome = run_fixture(unit, path)
    assert outcome.status == expected[path.name], f"{path.name}: {outcome.messages}"
    # a failing, unknown or erroring control must say something; a passing one must say nothing
    assert bool(outcome.messages) == (outcome.status != "pass")
    if outcome.status in ("unknown", "error"):
        assert all(f"[{unit.control.id}]" in m for m in outcome.messages)


@pytest.mark.parametrize("unit", part_a_units(), ids=lambda u: u.control.id)
def test_expected_covers_pass_and_fail(unit: ControlUnit) -> None:
    results = load_expected(unit.expected_file)
    listed = {r.fixture for r in results}
    on_disk = {p.name for p in unit.fixtures_dir.glob("*.yaml")}
    assert listed == on_disk, f"{unit.expected_file} and fixtures/ disagree: {listed ^ on_disk}"
    kinds = {r.result for r in results}
    assert "pass" in kinds and "fail" in kinds
    for r in results:
        prefix = "good-" if r.result == "pass" else "bad-"
        assert r.fixture.startswith(prefix), f"{r.fixture} is expected to {r.result}; name it {prefix}*"


def test_metadata_complete_for_every_control() -> None:
    units = discover_units()
    ids = [u.control.id for u in units]
    assert len(ids) == len(set(ids))
    names = [u.control.name for u in units]
    assert len(names) == len(set(names))
    for unit in units:
        c = unit.control
        assert c.severity in SEVERITIES
        assert c.remediation_steps.strip() and c.description.strip()
        assert c.url.startswith("https://")
        assert c.name == c.id.replace(".", "-")


@pytest.mark.parametrize("control_id,peers", sorted(ANCHOR_PEERS.items()))
def test_anchor_peer_ids_present(control_id: str, peers: set[str]) -> None:
    controls = {u.control.id: u.control for u in discover_units()}
    assert control_id in controls
    missing = peers - set(controls[control_id].peer_ids)
    assert not missing, f"{control_id} lacks anchor peer ids {missing}"


def test_required_remediations_exist() -> None:
    controls = {u.control.id: u.control for u in discover_units()}
    for control_id in REMEDIATING:
        assert controls[control_id].remediate is not None, control_id


@pytest.mark.parametrize("control_id", sorted(REMEDIATING))
def test_remediation_fixes_what_the_check_reports(control_id: str) -> None:
    unit = next(u for u in discover_units() if u.control.id == control_id)
    control = unit.control
    assert isinstance(control, ResourceControl) and control.remediate is not None
    fixed_any = False
    for path in sorted(unit.fixtures_dir.glob("bad-*.yaml")):
        fixture = load_fixture(path)
        settings = fixture_settings(fixture)
        res = fixture.resource
        before = evaluate_resource(control, res.type, runtime_props(res.properties), settings)
        if before is None or before.status != "fail":
            continue
        from guardrails_pack.context import ResourceContext

        ctx = ResourceContext(resource_type=res.type, props=runtime_props(res.properties), name=res.name, urn="u",
                              settings=settings)
        new_props = control.remediate(ctx)
        if new_props is None:
            continue  # e.g. runAsUser: 0 - not safely fixable; the violation stays (checked above)
        after = evaluate_resource(control, res.type, runtime_props(new_props), settings)
        assert after is not None and len(after.messages) < len(before.messages), f"{path.name}: {after}"
        fixed_any = fixed_any or after.status == "pass"
    assert fixed_any, f"{control_id} has no failing fixture its remediation fixes"


def test_remediation_leaves_a_compliant_resource_alone() -> None:
    unit = next(u for u in discover_units() if u.control.id == "pod.drop-all-caps")
    fixture = load_fixture(unit.fixtures_dir / "good-drop-all.yaml")
    from guardrails_pack.context import ResourceContext

    ctx = ResourceContext(resource_type=fixture.resource.type, props=runtime_props(fixture.resource.properties),
                          name="svc", urn="u", settings=fixture_settings(fixture))
    assert unit.control.remediate(ctx) is None  # type: ignore[misc]
