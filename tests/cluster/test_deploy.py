"""`preflight up` for real: the real Pulumi CLI and Kubernetes provider against the local kube-apiserver.

Gate on `pulumi preview --save-plan`, deploy with `pulumi up --plan`; a second up is a no-op; destroy removes the
objects; a failed update is exit 3 with `deploy: failed`; a conflict with another field manager is explained;
per-control overrides reach the CLI's own enforcement and are recorded; stacks that forbid overrides refuse them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from preflight.engine.pulumi_cli import Backend, offline_env, run_pulumi_destroy
from tests.fixtures.cluster import LocalCluster
from tests.integration.helpers import REPO, knative_service, project_copy, require_cli
from tests.preflight.helpers import preflight

NS = "ai-workloads"
KSVC = "kubernetes:serving.knative.dev/v1:Service"


@pytest.fixture(scope="module")
def cli() -> Iterator[Path]:
    """The CLI for `python -m preflight` run inside a project copy (whose own .tools and .pulumi-home are empty)."""
    found = require_cli()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{found.parent}{os.pathsep}{os.environ.get('PATH', '')}")
        patch.setenv("GUARDRAILS_PULUMI_HOME", offline_env(REPO, found)["PULUMI_HOME"])
        yield found


def _project(tmp_path: Path, cluster: LocalCluster, services: dict[str, str]) -> Path:
    project = project_copy(tmp_path, services)
    cluster.use_in(project)
    return project


def _report(project: Path) -> dict:
    return json.loads((project / "out" / "preflight-cluster.json").read_text())


def _file_backend(tmp_path: Path) -> str:
    state = tmp_path / "state"
    state.mkdir()
    return state.as_uri()


def _up(project: Path, *args: str) -> tuple[int, str, dict]:
    run = preflight(project, "up", "--stack", "cluster", "--quiet", *args, timeout=600)
    return run.returncode, run.stderr, _report(project)


def test_up_creates_then_noop_then_destroy(cli: Path, tmp_path: Path, local_cluster: LocalCluster) -> None:
    project = _project(tmp_path, local_cluster, {"alpha.yaml": knative_service("alpha"),
                                                 "beta.yaml": knative_service("beta", max_scale="3")})
    backend = _file_backend(tmp_path)

    code, stderr, doc = _up(project, "--backend", backend)
    assert code == 0, stderr
    assert doc["engine"] == "pulumi" and doc["gate"]["decision"] == "pass"
    assert doc["deploy"]["status"] == "succeeded" and doc["deploy"]["changes"].get("create", 0) >= 2, doc["deploy"]
    assert "update plan" in doc["deploy"]["plan"] and doc["deploy"]["backend"] == backend
    assert doc["previous_state"]["first_deploy"] is True
    live = local_cluster.knative_services(NS)
    assert {"alpha", "beta"} <= live.keys()
    beta = live["beta"]
    annotations = beta["spec"]["template"]["metadata"]["annotations"]
    assert annotations["autoscaling.knative.dev/max-scale"] == "3"
    # Created through server-side apply by the Pulumi provider's own field manager.
    managers = {(m["manager"], m["operation"]) for m in beta["metadata"]["managedFields"]}
    assert any(name.startswith("pulumi-kubernetes") and op == "Apply" for name, op in managers), managers
    assert not (project / ".preflight-cache" / "baseline").exists()  # the backend is the record, no local copy

    code, stderr, doc = _up(project, "--backend", backend)
    assert code == 0, stderr
    assert set(doc["deploy"]["changes"]) == {"same"}, doc["deploy"]  # nothing changed: a no-op
    # The previous state now comes from the backend (`pulumi stack export`), not from a local file.
    assert doc["previous_state"]["first_deploy"] is False and doc["previous_state"]["resources"] >= 3
    assert "pulumi stack export" in doc["previous_state"]["source"]

    run = preflight(project, "destroy", "--stack", "cluster", "--backend", backend, timeout=600)
    assert run.returncode == 0 and "destroyed" in run.stderr, run.stderr
    assert not {"alpha", "beta"} & local_cluster.knative_services(NS).keys()
    # A backend that never held the stack: said so, and the stack is not created there.
    empty = tmp_path / "empty-state"
    empty.mkdir()
    run = preflight(project, "destroy", "--stack", "cluster", "--backend", empty.as_uri())
    assert run.returncode == 2, run.stderr
    assert "no stack cluster on" in run.stderr and "nothing to destroy" in run.stderr
    assert not list(empty.rglob("*.json"))


def test_temp_backend_deploys_and_discards_the_state(cli: Path, tmp_path: Path, local_cluster: LocalCluster) -> None:
    project = _project(tmp_path, local_cluster, {"gamma.yaml": knative_service("gamma")})
    try:
        code, stderr, doc = _up(project, "--backend", "temp")
        assert code == 0, stderr
        assert doc["deploy"]["status"] == "succeeded" and doc["deploy"]["backend"].startswith("temp")
        assert "gamma" in local_cluster.knative_services(NS)
    finally:
        local_cluster.request("DELETE", f"/apis/serving.knative.dev/v1/namespaces/{NS}/services/gamma")


def test_object_owned_by_kubectl_is_a_clear_conflict(cli: Path, tmp_path: Path, local_cluster: LocalCluster) -> None:
    declaration = knative_service("taken")
    project = _project(tmp_path, local_cluster, {"taken.yaml": declaration})
    local_cluster.kubectl("apply", "-f", "-", input=declaration)  # another writer got there first
    try:
        code, stderr, doc = _up(project, "--backend", _file_backend(tmp_path))
        assert code == 3, stderr
        assert doc["deploy"]["status"] == "failed" and "conflict" in doc["deploy"]["error"]
        conflict = doc["deploy"]["conflicts"][0]
        assert conflict["resource"] == f"{KSVC} taken"
        assert conflict["manager"] == "kubectl-client-side-apply"
        assert ".spec.template.spec.containers" in conflict["fields"]
        assert "kubectl delete" in conflict["fix"] and "pulumi.com/patchForce" in conflict["fix"]
        assert "field conflict" in stderr and "kubectl-client-side-apply" in stderr
        assert "deploy failed (exit 3)" in stderr
        assert "deployed" not in stderr.splitlines()[-1]
    finally:
        local_cluster.kubectl("delete", "-f", "-", input=declaration, check=False)


def test_failed_update_is_exit_3_and_never_reported_as_success(cli: Path, tmp_path: Path,
                                                               local_cluster: LocalCluster) -> None:
    # A namespace the cluster does not have: the gate passes (nothing wrong with the declaration), the API server
    # refuses the write.
    declaration = knative_service("lost").replace(f"namespace: {NS}", "namespace: not-created")
    project = _project(tmp_path, local_cluster, {"lost.yaml": declaration})
    code, stderr, doc = _up(project, "--backend", _file_backend(tmp_path))
    assert code == 3, stderr
    assert doc["gate"]["decision"] == "pass"
    assert doc["deploy"]["status"] == "failed"
    assert "not-created" in doc["deploy"]["error"] and "not found" in doc["deploy"]["error"]
    assert "pulumi up finished" not in stderr and "deploy failed (exit 3)" in stderr
    assert not (project / ".preflight-cache" / "baseline").exists()


def test_per_control_override_reaches_the_clis_enforcement(cli: Path, tmp_path: Path,
                                                           local_cluster: LocalCluster) -> None:
    # Confidential and reachable from outside the cluster: dc.confidential-cluster-local is critical, so mandatory
    # on this stack; the CLI itself enforces it during `pulumi up` unless its policy config says advisory.
    exposed = knative_service("exposed", classification="confidential", cluster_local=False)
    project = _project(tmp_path, local_cluster, {"exposed.yaml": exposed})
    backend = _file_backend(tmp_path)
    code, stderr, doc = _up(project, "--backend", backend)
    assert code == 1, stderr
    blocking = {v["policy"] for v in doc["violations"] if v["enforcement"] == "mandatory"}
    assert "dc-confidential-cluster-local" in blocking, blocking
    assert "exposed" not in local_cluster.knative_services(NS)

    reason = "SEC-123: demo cluster, expires 2026-12-31"
    overrides = [f"--override={control}={reason}" for control in
                 sorted(v["policy"].replace("-", ".", 1) for v in doc["violations"] if v["enforcement"] == "mandatory")]
    try:
        code, stderr, doc = _up(project, "--backend", backend, *overrides)
        assert code == 0, stderr
        assert doc["deploy"]["status"] == "succeeded"
        record = next(o for o in doc["overrides"] if o["control"] == "dc.confidential-cluster-local")
        assert record["reason"] == reason and record["who"] and record["when"]
        # Only the named controls were downgraded, and the engine reported them as such.
        overridden = {v["policy"]: v["enforcement"] for v in doc["violations"] if v["policy"] in blocking}
        assert set(overridden.values()) == {"advisory"}, overridden
        assert "exposed" in local_cluster.knative_services(NS)
    finally:
        run_pulumi_destroy(project, "cluster", backend=Backend(backend, "test"))


def test_forbidden_overrides_are_refused(tmp_path: Path) -> None:
    project = project_copy(tmp_path, {"exposed.yaml": knative_service("exposed")})
    stack = project / "stacks" / "Pulumi.cluster.yaml"
    text = stack.read_text().replace("  guardrails:policy:\n", "  guardrails:policy:\n    overrides: forbidden\n")
    stack.write_text(text)
    run = preflight(project, "up", "--stack", "cluster", "--override", "dc.confidential-cluster-local=SEC-1: x")
    assert run.returncode == 2 and "overrides are forbidden" in run.stderr and "Pulumi.cluster.yaml" in run.stderr
    # prod forbids them by default
    run = preflight(project, "up", "--stack", "prod", "--override", "dc.confidential-cluster-local=SEC-1: x")
    assert run.returncode == 2 and "default for prod" in run.stderr


def test_override_names_a_known_control(tmp_path: Path) -> None:
    project = project_copy(tmp_path, {"exposed.yaml": knative_service("exposed")})
    run = preflight(project, "up", "--stack", "cluster", "--override", "dc.confidential-cluster-locl=SEC-1: x")
    assert run.returncode == 2
    assert "unknown control id" in run.stderr and "did you mean dc.confidential-cluster-local" in run.stderr
    run = preflight(project, "up", "--stack", "cluster", "--override", "SEC-1: the whole gate")
    assert run.returncode == 2 and "expected CONTROL=REASON" in run.stderr
    run = preflight(project, "up", "--stack", "cluster", "--override", "dc.confidential-cluster-local=  ")
    assert run.returncode == 2 and "needs a reason" in run.stderr
