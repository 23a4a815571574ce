"""`preflight operator-manifests`: Pulumi Kubernetes Operator v2 resources, accepted by a real API server that
serves the operator's own CRDs (`../shared/data/pulumi-operator/crds/`), with server-side dry-run and strict field
validation (an unknown field is an error, not silently pruned)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from preflight.operator_cli import MAX_STACK_NAME, object_name
from tests.conftest import shared_dir
from tests.fixtures.cluster import LocalCluster
from tests.integration.helpers import project_copy

REPO_URL = "https://github.com/apexlogic/serverless-guardrails.git"


def _git_project(tmp_path: Path) -> Path:
    project = project_copy(tmp_path)
    for args in (["init", "-q", "-b", "main"], ["remote", "add", "origin", REPO_URL]):
        subprocess.run(["git", *args], cwd=project, check=True)
    return project


def _run(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    # No backend from this machine's environment or logins: each test says which backend it means.
    environment = {k: v for k, v in os.environ.items() if k not in ("PULUMI_BACKEND_URL", "GUARDRAILS_PULUMI_HOME")}
    environment.update(HOME=str(project.parent), PULUMI_HOME=str(project.parent / "pulumi-home"))
    return subprocess.run([sys.executable, "-m", "preflight", "operator-manifests", *args], cwd=project,
                          env={**environment, **(env or {})}, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def operator_crds(local_cluster: LocalCluster) -> LocalCluster:
    crds = shared_dir() / "data" / "pulumi-operator" / "crds"
    for crd in sorted(crds.glob("*.yaml")):
        local_cluster.kubectl("apply", "--server-side", "-f", str(crd))
    deadline = time.monotonic() + 60
    for name in ("stacks.pulumi.com", "workspaces.auto.pulumi.com"):
        while True:
            crd = local_cluster.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            conditions = {c["type"]: c["status"] for c in (crd.get("status") or {}).get("conditions") or []}
            if conditions.get("Established") == "True":
                break
            assert time.monotonic() < deadline, f"CRD {name} not established after 60 s: {conditions}"
            time.sleep(0.5)
    return local_cluster


def test_manifests_for_a_fleet_are_accepted_by_the_api_server(tmp_path: Path, operator_crds: LocalCluster) -> None:
    project = _git_project(tmp_path)
    out = tmp_path / "operator.yaml"
    run = _run(project, "--stack", "cluster", "--stack", "prod", "--org", "apexlogic", "--backend-url",
               "s3://apexlogic-pulumi-state", "--resync-seconds", "120", "-o", str(out))
    assert run.returncode == 0, run.stderr
    docs = list(yaml.safe_load_all(out.read_text()))
    stacks = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Stack"}
    assert set(stacks) == {"serverless-guardrails-cluster", "serverless-guardrails-prod"}
    prod = stacks["serverless-guardrails-prod"]["spec"]
    assert prod["stack"] == "apexlogic/prod" and prod["projectRepo"] == REPO_URL and prod["branch"] == "main"
    assert "repoDir" not in prod  # the project is the repository root
    assert prod["refresh"] is True and prod["resyncFrequencySeconds"] == 120 and prod["continueResyncOnCommitMatch"]
    assert prod["backend"] == "s3://apexlogic-pulumi-state"
    # Credentials are references to a Secret's keys, never values; prod deploys Lambda, so AWS keys are named.
    assert prod["envRefs"]["PULUMI_CONFIG_PASSPHRASE"] == {
        "type": "Secret", "secret": {"name": "pulumi-stack-credentials", "key": "PULUMI_CONFIG_PASSPHRASE"}}
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(prod["envRefs"])
    assert prod["envRefs"]["AWS_REGION"] == {"type": "Literal", "literal": {"value": "eu-west-1"}}
    assert not any(k.startswith("AWS_") for k in stacks["serverless-guardrails-cluster"]["spec"]["envRefs"])
    # The cluster stack's kubeconfig is a path on this machine: said, since the workspace pod cannot read it.
    assert "stack 'cluster' sets kubernetes:kubeconfig" in run.stderr
    assert stacks["serverless-guardrails-prod"]["metadata"]["annotations"][
        "serverless-guardrails.dev/policy-pack"] == "guardrails@0.1.0"
    assert prod["workspaceTemplate"]["spec"]["securityProfile"] == "restricted"

    applied = operator_crds.kubectl("apply", "--server-side", "--dry-run=server", "--validate=strict",
                                    "-f", str(out), "-o", "yaml")
    returned = list(yaml.safe_load_all(applied.stdout))
    items = returned[0]["items"] if returned and returned[0].get("kind") == "List" else returned
    by_name = {(i["kind"], i["metadata"]["name"]): i for i in items}
    assert len(by_name) == len(docs) == 6  # per stack: ServiceAccount, ClusterRoleBinding, Stack
    for doc in docs:
        stored = by_name[(doc["kind"], doc["metadata"]["name"])]
        for key in ("spec", "roleRef", "subjects"):
            if key in doc:
                _assert_subset(doc[key], stored[key], f"{doc['kind']}/{doc['metadata']['name']}.{key}")


def _assert_subset(emitted: object, stored: object, where: str) -> None:
    """Everything emitted came back (nothing pruned); the server may add defaults."""
    if isinstance(emitted, dict):
        assert isinstance(stored, dict), where
        for key, value in emitted.items():
            assert key in stored, f"{where}.{key} was pruned by the API server"
            _assert_subset(value, stored[key], f"{where}.{key}")
    else:
        assert emitted == stored, f"{where}: emitted {emitted!r}, stored {stored!r}"


def test_a_field_the_crd_does_not_declare_is_refused(tmp_path: Path, operator_crds: LocalCluster) -> None:
    project = _git_project(tmp_path)
    run = _run(project, "--stack", "dev", "--org", "apexlogic", "--backend-url", "s3://state")
    assert run.returncode == 0, run.stderr
    broken = run.stdout.replace("  refresh: true", "  refreshh: true")
    assert broken != run.stdout
    refused = operator_crds.kubectl("apply", "--server-side", "--dry-run=server", "--validate=strict", "-f", "-",
                                    input=broken, check=False)
    assert refused.returncode != 0 and "refreshh" in refused.stderr


def test_repo_dir_is_the_project_folder_inside_the_repository(tmp_path: Path) -> None:
    outer = tmp_path / "monorepo"
    outer.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "trunk"], cwd=outer, check=True)
    project = project_copy(outer / "infra")
    run = _run(project, "--stack", "dev", "--repo", "git@github.com:apexlogic/monorepo.git",
               "--backend-url", "s3://state", "--org", "acme")
    assert run.returncode == 0, run.stderr
    stack = next(d for d in yaml.safe_load_all(run.stdout) if d and d["kind"] == "Stack")
    assert stack["spec"]["repoDir"] == "infra/project" and stack["spec"]["branch"] == "trunk"


@pytest.mark.parametrize(("args", "message"), [
    (["--stack", "dev", "--backend-url", "s3://s", "--org", "o"], "--repo URL"),  # no git remote
    (["--stack", "dev", "--repo", REPO_URL, "--backend-url", "file:///tmp/state"], "cannot read a folder"),
    (["--stack", "dev", "--repo", REPO_URL], "--org ORG"),  # Pulumi Cloud needs the organization
    (["--stack", "nope", "--repo", REPO_URL, "--org", "o"], "Pulumi.nope.yaml"),
    (["--stack", "dev", "--repo", REPO_URL, "--org", "o", "--resync-seconds", "5"], "minimum is 60"),
])
def test_bad_input_is_exit_2_naming_what_to_pass(tmp_path: Path, args: list[str], message: str) -> None:
    project = project_copy(tmp_path)
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    run = _run(project, *args)
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_object_names_fit_the_crd_rule_and_stay_distinct() -> None:
    long_a, long_b = object_name("p" * 30, "staging-eu-west-1-a"), object_name("p" * 30, "staging-eu-west-1-b")
    assert len(long_a) <= MAX_STACK_NAME and len(long_b) <= MAX_STACK_NAME and long_a != long_b
    assert object_name("Serverless_Guardrails", "Prod") == "serverless-guardrails-prod"
