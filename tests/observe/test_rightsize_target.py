"""`autoscaling.knative.dev/target` from Knative's autoscaler metrics in a real Prometheus (backfilled history):
an over-provisioned service gets a raise commit with a saving, a saturated one a lower target with no saving
claimed, and missing autoscaler metrics change nothing and say so (test_rightsize.py)."""

from __future__ import annotations

import json
import math
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from guardrails_core.settings import load_stack_settings
from knative_metrics import Revision, openmetrics_history

from components.specs.loader import load_declarations
from preflight.cli import main
from preflight.gitops import act, needs_approval
from preflight.observe.model import Window
from preflight.observe.prometheus import observe_knative
from preflight.observe.rightsize import knative_rightsizing
from tests.gitops.helpers import git, init_repo

DECLARATION = """apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: inference
  annotations:
    finops.apexlogic.com/cost-center: "AI-Product-X"   # charged to the product team
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "1"   # keep one warm
        autoscaling.knative.dev/target: "100"   # the default, never revisited
    spec:
      containers:
        - image: ghcr.io/apexlogic/inference:v1
          resources:
            requests:
              cpu: "{cpu}"        # sized for the model
              memory: {memory}
            limits:
              memory: 3Gi
"""
UTILISATION = 0.7  # Knative's default target utilisation (the price table's knative_defaults)


def _project(tmp_path: Path, cpu: str, memory: str, env: str = "dev") -> Path:
    return init_repo(tmp_path / "repo", {
        "Pulumi.yaml": "name: rs\nruntime: python\nstackConfigDir: stacks\n", ".gitignore": "out/\n",
        f"stacks/Pulumi.{env}.yaml": f"config:\n  guardrails:environment: {env}\n  guardrails:namespace: ai\n",
        "services/inference.yaml": DECLARATION.format(cpu=cpu, memory=memory)})


def _observe(root: Path, server, end: int, hours: int):
    settings = load_stack_settings(root, "dev")
    (decl,) = load_declarations(root, "dev", settings)
    at = datetime.fromtimestamp(end, UTC)
    observed = observe_knative(decl, server.url, Window(at - timedelta(hours=hours), at, 3600),
                               namespace=settings.namespace)
    return settings, decl, observed


def _minute_aligned_end() -> int:
    """The window's end on a whole minute: Prometheus aligns the per-minute subqueries to absolute minutes, so an
    end on an arbitrary second would shift the rate[2m] windows against the backfilled samples and the measured
    figures with them (the test would depend on the second it runs at)."""
    return int(time.time()) // 60 * 60 - 60


def test_over_provisioned_service_gets_a_target_raise_with_a_saving(prometheus_server, tmp_path: Path) -> None:
    root = _project(tmp_path, cpu="1", memory="2Gi")
    end = _minute_aligned_end()
    # 4 pods carry 220 requests in flight (55 each, swinging +-20 %); each uses 100m + 5.5m per request in
    # flight of its 1 vCPU and 1200Mi + 2Mi per request: CPU-idle pods, target 100 (70 per pod) leaves it so
    revision = Revision("inference-00001", latency_median_ms=80, cpu_cores=0.1, cpu_per_request=0.0055,
                        memory_mib=1200, memory_per_request_mib=2, pods=4, in_flight=220, swing=0.2,
                        target_per_pod=70)
    # six hours of traffic at 0.6..1.8 x the mean of ~2,600 requests/s, so the saving's bootstrap has a spread
    # (the simulated autoscaler gauges do not follow the hourly weights; the cost engine prices the hours)
    weights = [1.0, 1.4, 0.6, 1.8, 1.0, 1.2]
    server = prometheus_server(history=openmetrics_history("ai", "inference", {revision: 56_700_000},
                                                           end - 6 * 3600, end, step_s=30, hourly_weights=weights))
    settings, decl, observed = _observe(root, server, end, hours=6)
    c50, c99 = observed.pod_concurrency_p50.value, observed.pod_concurrency_p99.value
    cpu50, cpu99 = observed.cpu_p50_millicores.value, observed.cpu_p99_millicores.value
    assert 60 < c99 <= 66.01 and 50 < c50 < 60  # 55 x (1 + 0.2 sin): the autoscaler's figures per pod
    assert observed.autoscaler_target_per_pod.value == 70 and observed.panic_max.value == 0
    assert observed.queue_depth_p99.missing  # containerConcurrency 0: queue-proxy reports no queue depth
    slope = (cpu99 - cpu50) / (c99 - c50)
    base = cpu99 - slope * c99
    # the measured line is the simulated one, within what 1-minute samples of a rate[2m] give at the median
    assert abs(slope - 5.5) < 0.55 and abs(base - 100) < 25
    result, proposal = knative_rightsizing(decl, observed, settings)
    headroom = settings.gitops.headroom
    capacity = (1000 / (1 + headroom) - base) / slope
    expected = math.floor(capacity / UTILISATION + 1e-9)
    assert 160 <= expected <= 185
    assert result["changes"]["target"] == {"current": "100", "recommended": str(expected),
                                           "why": result["changes"]["target"]["why"]}
    assert result["target"]["direction"] == "raise" and result["not_changed"] == {}
    # the fuller pods still need their 1 vCPU and 2Gi: requests kept; smaller pods at target 100 saved less
    assert "cpu_request" not in result["changes"] and "memory_request" not in result["changes"]
    saving = result["saving_usd_month"]
    assert 0 < saving["p10"] < saving["p50"] < saving["p90"] and result["extra_cost_usd_month"] is None
    main_before = git(root, "rev-parse", "main")
    outcome = act(root, proposal, approved=False, approval_required=needs_approval(settings, "rightsize"),
                  out_dir=tmp_path / "out")
    assert outcome.status == "committed" and git(root, "rev-parse", "main") == main_before
    text = git(root, "show", f"{outcome.commit}:services/inference.yaml")
    assert f'        autoscaling.knative.dev/target: "{expected}"   # the default, never revisited' in text
    assert '              cpu: "1"        # sized for the model' in text
    assert '    finops.apexlogic.com/cost-center: "AI-Product-X"   # charged to the product team' in text
    changed = [ln for ln in outcome.patch.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert changed == ['-        autoscaling.knative.dev/target: "100"   # the default, never revisited',
                       f'+        autoscaling.knative.dev/target: "{expected}"   # the default, never revisited']
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    subprocess.run(["git", "apply", "--check", outcome.patch_file], cwd=clone, check=True)
    body = Path(outcome.body_file).read_text()
    assert f"${saving['p10']:,.2f}" in body and f"${saving['p50']:,.2f}/month" in body
    assert "autoscaler_stable_request_concurrency{namespace_name=" in body and "autoscaler_actual_pods" in body
    assert "watch the P99 latency" in body


def test_saturated_service_gets_a_lower_target_and_no_saving(prometheus_server, tmp_path: Path,
                                                             capsys) -> None:
    root = _project(tmp_path, cpu="500m", memory="1Gi")
    end = _minute_aligned_end()
    # 3 pods at 70 in flight each (the target), each burning 480m of its 500m request; the autoscaler panicked
    revision = Revision("inference-00001", latency_median_ms=80, cpu_cores=0.48, memory_mib=400, pods=3,
                        in_flight=210, target_per_pod=70, panic=True)
    server = prometheus_server(history=openmetrics_history("ai", "inference", {revision: 7_500_000},
                                                           end - 3000, end))
    refs = git(root, "for-each-ref")
    capsys.readouterr()
    code = main(["rightsize", "--project-dir", str(root), "--stack", "dev", "--service", "inference",
                 "--prometheus", server.url, "--since", "1h", "--until", str(end), "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and record["status"] == "committed", record
    # no spread in the load: CPU per request from zero, 480m / 70; 500m / 1.3 of it is 56.1 in flight -> 80
    assert record["changes"]["target"]["current"] == "100" and record["changes"]["target"]["recommended"] == "80"
    assert "the autoscaler panicked" in record["changes"]["target"]["why"]
    assert record["target"]["direction"] == "lower"
    assert record["saving_usd_month"] is None  # a risk fix: never claimed as a saving
    extra = record["extra_cost_usd_month"]
    assert 0 < extra["p10"] <= extra["p50"] <= extra["p90"]
    # smaller pods would "save" here; a saturated service gets no lower request
    assert set(record["changes"]) == {"target"}
    assert git(root, "for-each-ref") != refs
    text = git(root, "show", f"{record['commit']}:services/inference.yaml")
    assert yaml.safe_load(text)["spec"]["template"]["metadata"]["annotations"][
        "autoscaling.knative.dev/target"] == "80"
    body = Path(record["body_file"]).read_text()
    assert "None expected" in body and "risk fix, not a saving" in body
    assert "autoscaler_panic_mode" in body
