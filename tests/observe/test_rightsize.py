"""Knative rightsizing from observed usage (real Prometheus, backfilled cAdvisor + queue-proxy history) as a
commit through preflight.gitops: applies cleanly, keeps comments, never below the observed P99 + headroom."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from guardrails_core.settings import load_stack_settings
from knative_metrics import QUEUE_PROXY_MEMORY_MIB, Revision, openmetrics_history

from components.specs.loader import load_declarations
from preflight.cli import main
from preflight.gitops import act, needs_approval
from preflight.observe.model import Window
from preflight.observe.prometheus import observe_knative
from preflight.observe.rightsize import knative_rightsizing
from tests.gitops.helpers import git, init_repo
from tests.observe.project import SERVICE

DECLARED = SERVICE.replace('        autoscaling.knative.dev/min-scale: "1"   # keep one warm\n',
                           '        autoscaling.knative.dev/min-scale: "1"   # keep one warm\n'
                           '        autoscaling.knative.dev/max-scale: "3"   # agreed with the platform team\n')
DECLARED = DECLARED.replace("            requests: {cpu: 500m, memory: 1Gi}\n",
                            "            requests:\n              cpu: 500m       # sized for v1\n"
                            "              memory: 1Gi\n            limits:\n              memory: 2Gi\n")


def test_rightsizing_commit_from_observed_usage(prometheus_server, tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo", {
        "Pulumi.yaml": "name: rs\nruntime: python\nstackConfigDir: stacks\n", ".gitignore": "out/\n",
        "stacks/Pulumi.dev.yaml": "config:\n  guardrails:environment: dev\n  guardrails:namespace: ai\n",
        "services/inference.yaml": DECLARED})
    end = int(time.time()) - 1
    # 2,000 requests/s at a mean of ~83 ms is ~166 in flight; the pod uses 0.2 cores and 300 MiB
    revision = Revision("inference-00001", latency_median_ms=80, cpu_cores=0.2, memory_mib=300)
    server = prometheus_server(history=openmetrics_history("ai", "inference", {revision: 6_000_000},
                                                           end - 3000, end))
    settings = load_stack_settings(root, "dev")
    (decl,) = load_declarations(root, "dev", settings)
    at = datetime.fromtimestamp(end, UTC)
    observed = observe_knative(decl, server.url, Window(at - timedelta(hours=1), at, 3600),
                               namespace=settings.namespace)
    assert round(observed.cpu_p99_millicores.value) == 200  # the user container only, not queue-proxy's 50m
    assert round(observed.memory_max_mib.value) == 300 and QUEUE_PROXY_MEMORY_MIB < 300
    assert 150 < observed.concurrency_p99.value < 180
    result, proposal = knative_rightsizing(decl, observed, settings)
    headroom = settings.gitops.headroom
    assert result["changes"]["cpu_request"]["recommended"] == "300m"  # 200m x 1.3 = 260m -> 300m (50m steps)
    assert result["changes"]["memory_request"]["recommended"] == "448Mi"  # 300 x 1.3 = 390 -> 448 (64Mi steps)
    assert "memory_limit" not in result["changes"]  # 2Gi is above the observed max + headroom
    assert result["changes"]["max_scale"]["recommended"] == result["floors"]["max_scale"] > 3
    # no autoscaler metrics in this history: the target is not touched, and the reason says what is missing
    assert "target" not in result["changes"] and observed.pod_concurrency_p99.missing
    assert result["not_changed"]["target"].startswith("missing: per-pod concurrency (no Knative autoscaler "
                                                      "metrics for inference in namespace ai")
    assert 300 >= result["floors"]["cpu_request_millicores"] == round(200 * (1 + headroom), 1)
    saving = result["saving_usd_month"]
    assert 0 < saving["p10"] <= saving["p50"] <= saving["p90"]
    main = git(root, "rev-parse", "main")
    outcome = act(root, proposal, approved=False, approval_required=needs_approval(settings, "rightsize"),
                  out_dir=tmp_path / "out")
    assert outcome.status == "committed" and git(root, "rev-parse", "main") == main
    text = git(root, "show", f"{outcome.commit}:services/inference.yaml")
    assert "              cpu: 300m       # sized for v1" in text
    assert '        autoscaling.knative.dev/min-scale: "1"   # keep one warm' in text
    assert f'        autoscaling.knative.dev/max-scale: "{result["floors"]["max_scale"]}"   # agreed with' in text
    assert '    finops.apexlogic.com/cost-center: "AI-Product-X"   # charged to the product team' in text
    doc = yaml.safe_load(text)
    resources = doc["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "300m", "memory": "448Mi"}, "limits": {"memory": "2Gi"}}
    changed = [ln for ln in outcome.patch.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert len(changed) == 6  # three lines out, three in: nothing else reformatted
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    subprocess.run(["git", "apply", "--check", outcome.patch_file], cwd=clone, check=True)
    body = Path(outcome.body_file).read_text()
    assert "### Expected saving" in body and f"${saving['p50']:,.2f}/month" in body
    assert "<code>quantile_over_time(0.99, max(rate(container_cpu_usage_seconds_total{namespace=" in body


def test_rightsize_command_in_prod_prepares_only(prometheus_server, tmp_path: Path, capsys) -> None:
    root = init_repo(tmp_path / "repo", {
        "Pulumi.yaml": "name: rs\nruntime: python\nstackConfigDir: stacks\n", ".gitignore": "out/\n",
        "stacks/Pulumi.prod.yaml": "config:\n  guardrails:environment: prod\n  guardrails:namespace: ai\n",
        "services/inference.yaml": DECLARED})
    end = int(time.time()) - 1
    revision = Revision("inference-00001", cpu_cores=0.2, memory_mib=300)
    server = prometheus_server(history=openmetrics_history("ai", "inference", {revision: 60_000}, end - 3000, end))
    refs = git(root, "for-each-ref")
    capsys.readouterr()
    code = main(["rightsize", "--project-dir", str(root), "--stack", "prod", "--service", "inference",
                 "--prometheus", server.url, "--since", "1h", "--until", str(end), "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 1 and record["status"] == "prepared" and record["commit"] is None
    assert record["changes"]["cpu_request"]["recommended"] == "300m"
    assert record["not_changed"]["target"].startswith("missing: ") and record["target"]["direction"] is None
    assert git(root, "for-each-ref") == refs
    subprocess.run(["git", "apply", "--check", record["patch_file"]], cwd=root, check=True)
    code = main(["rightsize", "--project-dir", str(root), "--stack", "prod", "--service", "inference",
                 "--prometheus", server.url, "--since", "1h", "--until", str(end), "--json", "--approve"])
    approved = json.loads(capsys.readouterr().out)
    assert code == 0 and approved["status"] == "committed" and approved["branch"] == "preflight/rightsize/inference"
