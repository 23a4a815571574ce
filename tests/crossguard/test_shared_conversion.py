"""The pack's per-request sharing (one props conversion per resource, one prediction pass per AnalyzeStack) must not
change a single finding: the full findings of a 200-service plan, sharing on vs off (GUARDRAILS_PACK_SHARED_PROPS=0),
through the real pack process and protocol."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from guardrails_core.settings import load_stack_settings, read_stack_config

from benchmarks.generate import generate
from preflight.crossguard.run import PackSession
from preflight.engine.offline import PROJECT, run_program_child
from preflight.packs import pack_config

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy_packs" / "guardrails"
SWITCH = "GUARDRAILS_PACK_SHARED_PROPS"


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    project = generate(tmp_path_factory.mktemp("shared"), 200)
    return project, run_program_child(project, "dev")


def _findings(project: Path, resources: list, monkeypatch: pytest.MonkeyPatch, shared: bool) -> Counter:
    monkeypatch.setenv(SWITCH, "1" if shared else "0")  # the pack process inherits it
    config = pack_config(PACK, load_stack_settings(project, "dev"), project.resolve())
    with PackSession(PACK, stack="dev", project=PROJECT, stack_config=read_stack_config(project, "dev"),
                     call_timeout=300) as session:
        run = session.run(resources, config)
    assert run.errors == []
    return Counter((f.policy, f.resource_urn, f.enforcement, f.severity, f.message) for f in run.findings)


def test_same_findings_with_and_without_sharing(plan: tuple[Path, list], monkeypatch: pytest.MonkeyPatch) -> None:
    project, resources = plan
    assert len(resources) > 800  # 200 services: Knative Services, Lambda functions with roles, logs, aliases
    shared = _findings(project, resources, monkeypatch, shared=True)
    unshared = _findings(project, resources, monkeypatch, shared=False)
    policies = {policy for policy, *_ in shared}
    # The plan exercises resource controls, stack controls and the prediction controls.
    assert len(shared) > 1000 and len(policies) > 20
    assert any(p.startswith(("fin-", "risk-")) or "budget" in p or "risk" in p for p in policies)
    assert shared == unshared, (
        f"only with sharing: {sorted(shared - unshared)[:5]}; only without: {sorted(unshared - shared)[:5]}")


def test_switch_leaves_the_sdk_alone() -> None:
    import sys

    sys.path.insert(0, str(PACK))
    try:
        from guardrails_pack.speed import share_properties_conversion, sharing_enabled
    finally:
        sys.path.remove(str(PACK))
    assert not sharing_enabled({SWITCH: "0"})
    assert sharing_enabled({})
    assert share_properties_conversion({SWITCH: "0"}) is False
