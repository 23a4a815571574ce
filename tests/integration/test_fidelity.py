"""Fidelity: the real CLI engine and the offline engine report the same (policy, resource URN, enforcement) set.

A difference is a bug in one of the engines; the assertion message lists both sides, nothing is filtered.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from guardrails_core.settings import load_stack_settings

from preflight.engine.base import EngineResult
from preflight.engine.pulumi_cli import run_pulumi_preview
from tests.integration.helpers import PACK_REL, REPO, REQUIRE_ENV, knative_service, project_copy, require_cli


def _offline_engine():  # -> Callable[[Path, str, list[Path]], EngineResult]
    try:
        from preflight.engine.offline import run_offline
    except ImportError as exc:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"preflight.engine.offline.run_offline is not importable: {exc}")
        pytest.skip(f"offline engine not available yet: {exc}")
    return run_offline


def _keys(result: EngineResult) -> set[tuple[str, str | None, str]]:
    return {(f.policy, f.resource_urn, f.enforcement) for f in result.findings}


def _describe(only: set[tuple[str, str | None, str]]) -> str:
    return "\n".join(f"    {policy} [{level}] {urn}" for policy, urn, level in sorted(only, key=str)) or "    (none)"


@pytest.mark.parametrize("stack", ["local", "dev"])
def test_cli_and_offline_engines_agree(stack: str, tmp_path: Path) -> None:
    require_cli()
    run_offline = _offline_engine()
    services = {p.name: p.read_text() for p in (REPO / "services").glob("*.yaml")}
    services["bad-svc.yaml"] = knative_service("bad-svc", image="docker.io/random/thing:latest", max_scale="100",
                                               privileged=True, classification="confidential", cluster_local=False)
    services["good-svc.yaml"] = knative_service("good-svc")
    if stack != "local":
        # Lambda functions need the AWS provider plugin, which cannot be built offline: compare Knative only.
        services = {name: text for name, text in services.items() if "kind: Function" not in text}
    project = project_copy(tmp_path, services)
    packs = [project / PACK_REL]

    cli = run_pulumi_preview(project, stack, packs)
    offline = run_offline(project, stack, load_stack_settings(project, stack), packs)

    assert cli.errors == [], cli.errors
    assert offline.errors == [], offline.errors
    cli_urns = {r.urn for r in cli.resources}
    offline_urns = {r.urn for r in offline.resources}
    assert cli_urns == offline_urns, (
        f"resource URNs differ\n  CLI only:\n{_describe({('', u, '') for u in cli_urns - offline_urns})}"
        f"\n  offline only:\n{_describe({('', u, '') for u in offline_urns - cli_urns})}")
    cli_keys, offline_keys = _keys(cli), _keys(offline)
    assert cli_keys, "the bad service must produce findings; an empty comparison proves nothing"
    assert cli_keys == offline_keys, (
        f"findings differ on stack {stack}\n  CLI only:\n{_describe(cli_keys - offline_keys)}"
        f"\n  offline only:\n{_describe(offline_keys - cli_keys)}")
