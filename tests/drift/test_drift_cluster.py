"""`preflight drift` / `preflight audit` against a real kube-apiserver and the real Pulumi CLI.

Each test deploys a project copy's `cluster` stack with `pulumi up` into a temporary file backend (the "user's
backend": PULUMI_BACKEND_URL), changes the live object out of band with `kubectl patch`, and runs preflight as a
user would (`python -m preflight ...`, no flags pointing at the backend).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from preflight.engine.pulumi_cli import offline_env
from tests.fixtures.cluster import LocalCluster
from tests.integration.helpers import knative_service, project_copy, require_cli

STACK = "cluster"
NAMESPACE = "ai-workloads"
KSVC = "kubernetes:serving.knative.dev/v1:Service"
MAX_SCALE = ("spec", "template", "metadata", "annotations", "autoscaling.knative.dev/max-scale")


class Deployed:
    """A project copy deployed to the cluster, with the environment a user of that backend would have."""

    def __init__(self, project: Path, env: dict[str, str], cluster: LocalCluster, service: str) -> None:
        self.project, self.env, self.cluster, self.service = project, env, cluster, service

    def pulumi(self, *args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        run = subprocess.run(["pulumi", *args, "--stack", STACK, "--non-interactive"], cwd=self.project,
                             env={**self.env, **(extra or {})}, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, f"pulumi {' '.join(args)}: {run.stdout[-2000:]}\n{run.stderr[-2000:]}"
        return run

    def preflight(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "preflight", *args, "--stack", STACK], cwd=self.project,
                              env=self.env, capture_output=True, text=True, timeout=600)

    def patch(self, annotations: dict[str, str], manager: str | None = None) -> None:
        body = json.dumps({"spec": {"template": {"metadata": {"annotations": annotations}}}})
        extra = [f"--field-manager={manager}"] if manager else []
        self.cluster.kubectl("-n", NAMESPACE, "patch", "ksvc", self.service, "--type", "merge", "-p", body, *extra)

    def revert(self) -> None:
        """What drift's `revert` remedy runs: refresh (so the engine sees the live value) and take the field back."""
        self.pulumi("up", "--yes", "--refresh", extra={"PULUMI_K8S_ENABLE_PATCH_FORCE": "true"})


def _deploy(tmp_path: Path, cluster: LocalCluster, service: str) -> Deployed:
    cli = require_cli()
    declaration = "# reviewed in PR #42: scale limits agreed with the platform team\n" + knative_service(service)
    project = project_copy(tmp_path, {f"{service}.yaml": declaration})
    cluster.use_in(project)
    backend = tmp_path / "backend"
    backend.mkdir()
    # PATH: the CLI, and `preflight` itself (the revert remedy is a shell command that calls it).
    path = os.pathsep.join([str(cli.parent), str(Path(sys.executable).parent), cluster.env()["PATH"]])
    env = offline_env(backend, cli, {"KUBECONFIG": str(cluster.kubeconfig), "PATH": path})
    env = {**os.environ, **env}
    env.pop("PULUMI_STACK", None)
    deployed = Deployed(project, env, cluster, service)
    deployed.pulumi("stack", "init")
    deployed.pulumi("up", "--yes")
    return deployed


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _drift(deployed: Deployed) -> tuple[int, dict]:
    run = deployed.preflight("drift", "--json")
    assert run.returncode in (0, 1), run.stderr
    return run.returncode, json.loads(run.stdout)


def test_kubectl_patch_is_explained_with_line_manager_policies_cost_and_remedies(
        tmp_path: Path, local_cluster: LocalCluster) -> None:
    deployed = _deploy(tmp_path, local_cluster, "drift-svc")
    declaration = deployed.project / "services" / "drift-svc.yaml"

    code, clean = _drift(deployed)
    assert code == 0 and clean["drifted"] is False and clean["resources"] == []

    before_patch = datetime.now(UTC).replace(microsecond=0)
    deployed.patch({"autoscaling.knative.dev/max-scale": "500", "autoscaling.knative.dev/min-scale": "3"})
    code, result = _drift(deployed)
    assert code == 1 and result["drifted"] is True
    [resource] = result["resources"]
    assert resource["type"] == KSVC and resource["name"] == "drift-svc" and resource["op"] == "update"
    fields = {f["field"]: f for f in resource["fields"]}
    assert set(fields) == {"spec.template.metadata.annotations[autoscaling.knative.dev/max-scale]",
                           "spec.template.metadata.annotations[autoscaling.knative.dev/min-scale]"}
    max_scale = fields["spec.template.metadata.annotations[autoscaling.knative.dev/max-scale]"]
    assert (max_scale["deployed"], max_scale["live"]) == ("5", "500")
    assert max_scale["file"] == "services/drift-svc.yaml"
    assert max_scale["line"] == _line_of(declaration, "autoscaling.knative.dev/max-scale:")
    who = max_scale["changed_by"]
    assert who["manager"] == "kubectl-patch" and who["operation"] == "Update"
    assert datetime.fromisoformat(who["time"].replace("Z", "+00:00")) >= before_patch
    assert resource["pulumi_manager"].startswith("pulumi-kubernetes")

    # The packs judged the live state: max-scale 500 is over the stack's cap (20) and was not so when deployed.
    new = {v["policy"]: v for v in result["policies"]["new_violations"]}
    assert "kn-max-scale-set" in new, sorted(new)
    assert new["kn-max-scale-set"]["line"] == max_scale["line"] and "500" in new["kn-max-scale-set"]["message"]
    assert result["policies"]["deployed_decision"] == "pass"
    # Three warm replicas (min-scale 0 -> 3) cost money every hour.
    cost = result["cost"]["drift-svc"]
    assert cost["delta"]["p50"] > 0 and cost["live"]["p50"] > cost["deployed"]["p50"]

    revert, adopt = result["remedies"]["revert"], result["remedies"]["adopt"]
    assert "kubectl-patch" in revert["note"] and "--stack cluster" in revert["command"]
    assert adopt["files"] == ["services/drift-svc.yaml"] and adopt["not_adoptable"] == []
    # Nothing was applied: Git and the backend still say 5.
    assert 'max-scale: "5"' in declaration.read_text()
    # The adopt patch is ready for `git apply`, and keeps the comment.
    subprocess.run(["git", "init", "-q"], cwd=deployed.project, check=True)
    subprocess.run(["git", "add", "services"], cwd=deployed.project, check=True)
    (tmp_path / "adopt.patch").write_text(adopt["patch"])
    subprocess.run(["git", "apply", str(tmp_path / "adopt.patch")], cwd=deployed.project, check=True)
    adopted = declaration.read_text()
    assert adopted.startswith("# reviewed in PR #42")
    doc = yaml.safe_load(adopted)
    annotations = doc["spec"]["template"]["metadata"]["annotations"]
    assert annotations["autoscaling.knative.dev/max-scale"] == "500"
    assert annotations["autoscaling.knative.dev/min-scale"] == "3"
    changed = subprocess.run(["git", "diff", "--numstat"], cwd=deployed.project, capture_output=True, text=True)
    assert changed.stdout.split()[:2] == ["2", "2"]  # exactly the two drifted lines
    subprocess.run(["git", "checkout", "--", "services"], cwd=deployed.project, check=True)

    # The console form names the same things.
    text = deployed.preflight("drift")
    assert text.returncode == 1
    for needle in ("max-scale", f"services/drift-svc.yaml:{max_scale['line']}", "kubectl-patch", "revert",
                   "adopt", "kn-max-scale-set"):
        assert needle in text.stdout, (needle, text.stdout)

    # audit: the live state (refreshed) has the violation; the backend's record of the deployment does not.
    live = deployed.preflight("audit", "--json")
    recorded = deployed.preflight("audit", "--json", "--no-refresh")
    assert live.returncode in (0, 1) and recorded.returncode in (0, 1), live.stderr + recorded.stderr
    live_doc, recorded_doc = json.loads(live.stdout), json.loads(recorded.stdout)
    assert live_doc["source"].startswith("live state") and recorded_doc["source"].startswith("backend state")
    live_policies = {v["policy"] for v in live_doc["violations"]}
    assert "kn-max-scale-set" in live_policies
    assert "kn-max-scale-set" not in {v["policy"] for v in recorded_doc["violations"]}
    assert live_doc["predictions"]["drift-svc"]["cost_usd_month"]["p50"] > \
        recorded_doc["predictions"]["drift-svc"]["cost_usd_month"]["p50"]

    # The revert remedy, run as printed, brings the live object back to Git; drift is then gone.
    reverted = subprocess.run(["bash", "-c", revert["command"]], cwd=deployed.project, env=deployed.env,
                              capture_output=True, text=True, timeout=600)
    assert reverted.returncode == 0, reverted.stdout[-3000:] + reverted.stderr[-3000:]
    live_object = local_cluster.knative_services(NAMESPACE)["drift-svc"]
    assert live_object["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/max-scale"] == "5"
    code, after = _drift(deployed)
    assert code == 0 and after["drifted"] is False


def test_a_second_writer_that_flips_the_field_back_after_each_up_is_a_loop(
        tmp_path: Path, local_cluster: LocalCluster) -> None:
    deployed = _deploy(tmp_path, local_cluster, "loop-svc")
    deployed.patch({"autoscaling.knative.dev/max-scale": "50"}, manager="autoscaler-bot")
    code, first = _drift(deployed)
    assert code == 1 and first["loops"] == []  # drifted once: not a loop yet

    deployed.revert()
    deployed.patch({"autoscaling.knative.dev/max-scale": "50"}, manager="autoscaler-bot")
    code, second = _drift(deployed)
    assert code == 1
    [loop] = second["loops"]
    assert loop["field"] == "spec.template.metadata.annotations[autoscaling.knative.dev/max-scale]"
    assert loop["other_managers"] == ["autoscaler-bot"] and loop["pulumi_manager"].startswith("pulumi-kubernetes")
    assert loop["times"] == 2 and "ignoreChanges" in loop["fix"]
    assert loop["line"] == _line_of(deployed.project / "services" / "loop-svc.yaml", "max-scale:")
    text = deployed.preflight("drift")
    assert "reconciliation loop" in text.stdout and "autoscaler-bot" in text.stdout


def test_drift_errors_are_exit_2_without_a_traceback(tmp_path: Path) -> None:
    cli = require_cli()
    project = project_copy(tmp_path, {"svc.yaml": knative_service("svc")})
    backend = tmp_path / "empty-backend"
    backend.mkdir()
    env = {**os.environ, "PULUMI_BACKEND_URL": backend.as_uri(), "PULUMI_CONFIG_PASSPHRASE": "",
           "PATH": f"{cli.parent}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run([sys.executable, "-m", "preflight", "drift", "--stack", STACK], cwd=project, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr and "pulumi refresh" in run.stderr and STACK in run.stderr


@pytest.mark.parametrize("case", ["not-json", "no-steps"])
def test_a_saved_refresh_document_that_is_not_one_is_exit_2(tmp_path: Path, case: str) -> None:
    project = project_copy(tmp_path, {"svc.yaml": knative_service("svc")})
    saved = tmp_path / "refresh.json"
    saved.write_text("{not json" if case == "not-json" else json.dumps({"steps": [{"op": 3}]}))
    run = subprocess.run([sys.executable, "-m", "preflight", "drift", "--stack", "local", "--refresh-json",
                          str(saved)], cwd=project, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert ("refresh.json" in run.stderr) if case == "not-json" else ("steps[0]" in run.stderr), run.stderr
