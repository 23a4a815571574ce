"""Every peer id we claim, we honour: our controls against the peers' own converted test cases."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from conformance import PEERS, REPO, Claims, claims, load_cases, main, run, totals
from guardrails_pack.discovery import discover_controls

PREFIX = {"checkov": ("CKV_K8S_", "CKV2_K8S_"), "polaris": ("polaris:",), "kube-score": ("kube-score:",),
          "kyverno": ("kyverno:",)}


def _converter() -> Any:
    spec = importlib.util.spec_from_file_location("convert_peer_tests", REPO / "scripts/convert_peer_tests.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["convert_peer_tests"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("peer", PEERS)
def test_no_disagreement_on_any_claimed_peer_id(peer: str) -> None:
    results = run(peer)
    problems = [d for r in results.values() for d in r.disagreements]
    assert not problems, "\n".join(problems)
    assert totals(results)["agree"] >= 25, "too few comparable cases: the suite would prove nothing"


def test_the_suite_can_fail() -> None:
    """A control claiming a peer rule it does not implement is caught (here: no-privileged for hostPathSet)."""
    controls = {c.id: c for c in discover_controls()}
    wrong = {"polaris:hostPathSet": Claims(exact=(controls["pod.no-privileged"],))}
    assert run("polaris", wrong)["polaris:hostPathSet"].disagree > 0
    # stricter_than: a control that passes what the peer fails is a miss
    lenient = {"polaris:hostPathSet": Claims(stricter=(controls["pod.no-privileged"],))}
    assert run("polaris", lenient)["polaris:hostPathSet"].disagree > 0


def test_summary_is_current() -> None:
    assert main(["--check"]) == 0, "docs/conformance.md is stale: run tests/conformance/conformance.py"


@pytest.mark.parametrize("peer", PEERS)
def test_cases_carry_provenance_and_a_reason_for_every_gap(peer: str) -> None:
    doc = load_cases(peer)
    assert doc["repo"].startswith("github.com/") and re.fullmatch(r"[0-9a-f]{40}", doc["commit"])
    assert doc["licence"] in ("Apache-2.0", "MIT")
    assert doc["commit"] in (REPO / "tests/conformance/cases/PROVENANCE.md").read_text()
    for case in doc["cases"]:
        assert case["id"] and case["path"] and case["peer_id"], case
        assert case["expected"] in ("pass", "fail", None), case["id"]
        if case["service"] is None or case["expected"] is None:
            assert case["inexpressible"], f"{case['id']}: a case without a comparison needs its reason"
        else:
            assert case["service"]["kind"] == "Service" and case["inexpressible"] is None


@pytest.mark.parametrize("peer", PEERS)
def test_every_claimed_rule_of_the_peer_has_its_tests_converted(peer: str) -> None:
    claimed = {p for p in claims(discover_controls()) if p.startswith(PREFIX[peer])}
    converted = {case["peer_id"] for case in load_cases(peer)["cases"]}
    # CKV2_* are Checkov graph checks, tested in another folder (tests/kubernetes/graph), not converted.
    missing = {p for p in claimed - converted if not p.startswith("CKV2_")}
    assert not missing, f"claimed {peer} rules without converted peer tests: {sorted(missing)}"


def test_conversion_keeps_the_pod_template_and_explains_rejections() -> None:
    conv = _converter()
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"replicas": 2, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"restartPolicy": "Always", "containers": [
                {"name": "web", "image": "nginx:1.25", "securityContext": {"runAsNonRoot": True}}]}}},
    }
    service, reason, notes = conv.to_knative(deployment)
    assert reason is None and service["kind"] == "Service" and service["metadata"]["namespace"] == "apps"
    assert service["spec"]["template"]["metadata"]["labels"] == {"app": "web"}
    assert service["spec"]["template"]["spec"]["containers"][0]["securityContext"] == {"runAsNonRoot": True}
    assert "restartPolicy" not in service["spec"]["template"]["spec"] and "restartPolicy" in notes[0]

    host_port = {"kind": "Pod", "metadata": {"name": "p"},
                 "spec": {"containers": [{"name": "c", "image": "nginx:1", "ports": [{"containerPort": 80,
                                                                                      "hostPort": 80}]}]}}
    service, reason, _ = conv.to_knative(host_port)
    assert service is None and "CRD schema" in reason and "hostPort" in reason

    privileged = {"kind": "Pod", "metadata": {"name": "p"},
                  "spec": {"containers": [{"name": "c", "image": "nginx:1", "securityContext": {"privileged": True}}]}}
    service, reason, _ = conv.to_knative(privileged)
    assert service is None and "webhook" in reason and "privileged" in reason


def test_checkov_expectations_are_read_from_the_test_source() -> None:
    conv = _converter()
    source = (
        "def test_summary(self):\n"
        "    passing_resources = {'Pod.default.ok'}\n"
        "    failing_resources = {'Pod.default.bad'}\n"
        "    self.assertEqual(summary['passed'], 1)\n"
        "    self.assertEqual(summary['failed'], 1)\n"
    )
    verdicts, counts = conv._checkov_expectations(source)
    assert verdicts == {"Pod.default.ok": "pass", "Pod.default.bad": "fail"}
    assert counts == {"passed": 1, "failed": 1}
    assert conv._file_marker("x/pod-FAILED.yaml") == "fail" and conv._file_marker("x/scope-UNKNOWN.yaml") is None
    assert conv._file_marker("x/cloudwatch-agent-1PASSED-1FAILED.yaml") is None


def test_cases_are_what_the_converter_makes() -> None:
    """The committed cases regenerate identically when the peers' repositories are at hand (GUARDRAILS_PEER_REPOS)."""
    import os

    roots = os.environ.get("GUARDRAILS_PEER_REPOS")
    if not roots:
        pytest.skip("set GUARDRAILS_PEER_REPOS=checkov=DIR,polaris=DIR,kube-score=DIR[,checkov-python=PY] to "
                    "regenerate the cases")
    conv = _converter()
    dirs = dict(item.split("=", 1) for item in roots.split(","))
    wanted = conv.claimed_ids()
    for peer in PEERS:
        git = conv.Git(Path(dirs[peer]))
        assert git.commit == load_cases(peer)["commit"]
        use_run = peer == "checkov" and "checkov-python" in dirs
        extra = {"checkov_python": Path(dirs["checkov-python"])} if use_run else {}
        assert conv.CONVERTERS[peer](git, wanted, **extra) == load_cases(peer)["cases"], peer
