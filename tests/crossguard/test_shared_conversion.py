"""The pack's per-request sharing (one props conversion per resource, one prediction pass per AnalyzeStack) must not
change a single finding: the full findings of a 200-service plan, sharing on vs off (GUARDRAILS_PACK_SHARED_PROPS=0),
through the real pack process and protocol. Nor may splitting the plan over two pack processes (SharedWork, as the
offline engine does on more than one core)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from guardrails_core.settings import load_stack_settings, read_stack_config

from benchmarks.generate import generate
from preflight.crossguard.run import PackRun, PackSession, SharedWork
from preflight.engine.offline import PROJECT, run_program_child
from preflight.packs import pack_config

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy_packs" / "guardrails"
SWITCH = "GUARDRAILS_PACK_SHARED_PROPS"


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    project = generate(tmp_path_factory.mktemp("shared"), 200)
    return project, run_program_child(project, "dev")


def _session(project: Path) -> PackSession:
    return PackSession(PACK, stack="dev", project=PROJECT, stack_config=read_stack_config(project, "dev"),
                       call_timeout=300)


def _counted(runs: list[PackRun]) -> Counter:
    assert [e for run in runs for e in run.errors] == []
    return Counter((f.policy, f.resource_urn, f.enforcement, f.severity, f.message) for run in runs
                   for f in run.findings)


def _findings(project: Path, resources: list, monkeypatch: pytest.MonkeyPatch, shared: bool) -> Counter:
    monkeypatch.setenv(SWITCH, "1" if shared else "0")  # the pack process inherits it
    config = pack_config(PACK, load_stack_settings(project, "dev"), project.resolve())
    with _session(project) as session:
        return _counted([session.run(resources, config)])


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


def test_two_processes_sharing_the_work_find_the_same(plan: tuple[Path, list]) -> None:
    project, resources = plan
    config = pack_config(PACK, load_stack_settings(project, "dev"), project.resolve())
    with _session(project) as alone:
        single = _counted([alone.run(resources, config)])
    with _session(project) as first, _session(project) as second, ThreadPoolExecutor(2) as pool:
        work = SharedWork(resources)
        parts = [pool.submit(s.run, resources, config, part=(i, 2), work=work) for i, s in enumerate((first, second))]
        runs = [p.result() for p in parts]
    assert all(run.findings for run in runs)  # both processes took part
    assert _counted(runs) == single


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
