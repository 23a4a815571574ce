"""scripts/local-cluster.sh: a real kube-apiserver + etcd on loopback serving the Knative Service CRD."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.fixtures.cluster import SCRIPT, LocalCluster, _script


def _running(pid: int) -> bool:
    """Alive and not a zombie (an exited process its adoptive parent has not reaped yet is stopped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_serves_the_knative_crd_and_the_stack_namespaces(local_cluster: LocalCluster) -> None:
    crd = local_cluster.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/services.serving.knative.dev")
    established = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert established.get("Established") == "True"
    namespaces = {n["metadata"]["name"] for n in local_cluster.get("/api/v1/namespaces")["items"]}
    assert {"ai-workloads", "ai-workloads-dev", "ai-workloads-staging"} <= namespaces
    assert local_cluster.url.startswith("https://127.0.0.1:")


def test_kubeconfig_works_for_kubectl_and_the_api_validates(local_cluster: LocalCluster) -> None:
    text = local_cluster.kubeconfig.read_text()
    assert "insecure-skip-tls-verify: true" in text and local_cluster.url in text
    assert oct(local_cluster.kubeconfig.stat().st_mode & 0o777) == "0o600"  # it holds the token
    bad = """apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: smoke-bad, namespace: ai-workloads}
spec: {template: {spec: {containerConcurrency: "many", containers: [{image: ghcr.io/knative/helloworld-go}]}}}
"""
    run = local_cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=bad, check=False)
    # The CRD's structural schema is enforced by the real API server.
    assert run.returncode != 0 and "containerConcurrency" in run.stderr, run.stderr


def test_foreground_deletion_completes(local_cluster: LocalCluster) -> None:
    # What `pulumi destroy` asks for; it needs the garbage collector (kube-controller-manager) to finish.
    manifest = """apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: smoke-delete, namespace: ai-workloads}
spec: {template: {spec: {containers: [{image: ghcr.io/knative/helloworld-go}]}}}
"""
    local_cluster.kubectl("apply", "-f", "-", input=manifest)
    path = "/apis/serving.knative.dev/v1/namespaces/ai-workloads/services/smoke-delete"
    local_cluster.request("DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1",
                                           "propagationPolicy": "Foreground"})
    deadline = time.monotonic() + 30
    while local_cluster.exists(path):
        assert time.monotonic() < deadline, "foreground deletion did not finish in 30 s (garbage collector?)"
        time.sleep(0.5)


def test_wrong_token_is_refused(local_cluster: LocalCluster) -> None:
    other = LocalCluster(local_cluster.state_dir, local_cluster.kubeconfig, local_cluster.url, token="not-the-token")
    with pytest.raises(Exception, match="HTTP 401"):
        other.get("/api/v1/namespaces")


def test_stop_ends_both_processes_by_pid(tmp_path: Path, local_cluster: LocalCluster) -> None:
    # A second, independent cluster in its own state folder (different ports and token): stop ends exactly its two
    # processes and removes the data, and leaves the session's cluster alone.
    env = {**os.environ, "GUARDRAILS_CLUSTER_DIR": str(tmp_path / "second"), "GUARDRAILS_CLUSTER_NAMESPACES": "x"}
    try:
        _script("start", env=env)
        pids = [int((tmp_path / "second" / f"{name}.pid").read_text())
                for name in ("kube-controller-manager", "kube-apiserver", "etcd")]
        assert subprocess.run(["bash", str(SCRIPT), "status"], env=env, capture_output=True, text=True).returncode == 0
    finally:
        _script("stop", env=env)
    for pid in pids:
        assert not _running(pid), f"pid {pid} still running after stop"
    assert not (tmp_path / "second").exists()
    status = subprocess.run(["bash", str(SCRIPT), "status"], env=env, capture_output=True, text=True)
    assert status.returncode == 1 and "not running" in status.stdout
    assert local_cluster.exists("/api/v1/namespaces/ai-workloads")
