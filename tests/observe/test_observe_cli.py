"""`preflight observe` end to end: the real program and pricing, moto's CloudWatch, a real Git repository."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.foundation.helpers import REPO
from tests.observe.conftest import FAKE_CREDENTIALS, free_port
from tests.observe.helpers import put_lambda
from tests.preflight.helpers import full_project

FLAT = 2_000_000 / 730  # the seed's embeddings-batch: 2M requests a month
FUNCTION = """\
# {name}: declared in Git (format: components/specs/schemas/function-spec.schema.json).
apiVersion: serverless-guardrails.dev/v1alpha1
kind: Function
metadata:
  name: {name}
  annotations:
    finops.apexlogic.com/cost-center: "AI-Product-X"   # who pays
    finops.apexlogic.com/project-id: "project-nova"
    finops.apexlogic.com/owner: "ml-platform"
    finops.apexlogic.com/expected-requests-per-month: "2000000"
    finops.apexlogic.com/expected-p50-latency-ms: "180"
    security.apexlogic.com/data-classification: "internal"
spec:
  runtime: python3.12
  handler: app.handler
  code:
    path: functions/embeddings_batch
  memoryMib: 1024          # sized for the largest batch
  timeoutSeconds: 60
  architecture: arm64
  reservedConcurrency: 10
{extra}  tracing: Active
  logRetentionDays: 30
  trigger: queue
"""
UNTIL = "2026-11-29T00:00Z"
RECENT = 13 * 24  # the window's last day starts at this hour


def git(project: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    return subprocess.run(["git", *args], cwd=project, check=True, capture_output=True, text=True, env=env).stdout


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    services = {"embeddings-batch.yaml": FUNCTION.format(name="embeddings-batch", extra=""),
                "surge.yaml": FUNCTION.format(name="surge", extra=""),
                "warm-reranker.yaml": FUNCTION.format(name="warm-reranker", extra="  provisionedConcurrency: 5\n")}
    project = full_project(tmp_path, services)
    (project / ".gitignore").write_text(".venv\npolicy_packs\nout/\n")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "declarations")
    return project


def observe(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run([sys.executable, "-m", "preflight", "observe", "--stack", "dev", "--until", UNTIL,
                           "--project-dir", str(project), *args], capture_output=True, text=True, timeout=600,
                          env={**clean, **env, "NO_COLOR": "1", "COLUMNS": "200",
                               "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"})


def feed(region: str = "us-east-1") -> None:
    end = __import__("datetime").datetime(2026, 11, 29, tzinfo=__import__("datetime").UTC)
    put_lambda("embeddings-batch", days=14, end=end, region=region, invocations=lambda h: FLAT,
               duration_ms=lambda h: 900.0 if h >= RECENT else 180.0, concurrency=lambda h: 4.0,
               memory_used_mb=lambda h: 300.0)
    put_lambda("surge", days=14, end=end, region=region, invocations=lambda h: FLAT * (5 if h >= RECENT else 1),
               duration_ms=lambda h: 180.0, concurrency=lambda h: 4.0, memory_used_mb=lambda h: 300.0)
    put_lambda("warm-reranker", days=14, end=end, region=region, invocations=lambda h: 0, duration_ms=lambda h: None,
               pc_utilisation=lambda h: 0.0)


def test_observe_flags_duration_not_traffic_finds_idle_pc_and_proposes_commits(project: Path, cloudwatch) -> None:
    feed()
    run = observe(project, cloudwatch.env(), "--propose")
    assert run.returncode == 0, run.stderr
    out = project / "out" / "observe" / "dev"
    doc = json.loads((out / "observe.json").read_text())
    # 1. 5x duration at flat traffic: an anomaly, driver duration, priced by the engine ($5.20 -> $24.40)
    anomalies = {a["service"]: a for a in doc["anomalies"]}
    assert set(anomalies) == {"embeddings-batch"}
    emb = doc["services"]["embeddings-batch"]["anomaly"]
    assert emb["driver"] == "duration"
    assert emb["usual_usd_month"] == pytest.approx(5.20, abs=0.01)
    assert emb["observed_usd_month"] == pytest.approx(24.40, abs=0.01)
    # 2. a genuine 5x traffic increase is not a cost anomaly
    surge = doc["services"]["surge"]["anomaly"]
    assert surge["status"] == "normal" and surge["traffic_ratio"] == pytest.approx(5.0, rel=1e-3)
    # 3. idle provisioned concurrency: PC 5, zero requests for 14 days = $43.80/month
    idle = [i for i in doc["idle"] if i["service"] == "warm-reranker"]
    assert [i["rule"] for i in idle] == ["idle-provisioned-concurrency"]
    assert idle[0]["saving_usd_month"] == pytest.approx(43.80, abs=0.005)
    # the usage history the predictions accept, with where each number came from
    history = yaml.safe_load((out / "usage-history" / "embeddings-batch.yaml").read_text())
    assert history["schema"] == "usage-history/v1" and len(history["samples"]) == 14
    assert history["samples"][0]["requests"] == pytest.approx(FLAT * 24)
    assert json.loads(history["observed"]["fields"]["requests"]["query"])["MetricName"] == "Invocations"
    assert history["observed"]["window"]["end"] == "2026-11-29T00:00:00+00:00"
    # an idle function has no duration: no history of zeros, the reason instead
    assert "no duration" in doc["services"]["warm-reranker"]["usage_history_missing"]
    # missing stays missing: moto computes no Duration p99
    p99 = doc["services"]["embeddings-batch"]["measurements"]["latency_p99_ms"]
    assert p99["value"] is None and "extended statistics" in p99["missing"]
    # 4. proposals became commits on branches; main is untouched
    actions = {(a["service"], a["kind"]): a for a in doc["actions"]}
    cleanup = actions[("warm-reranker", "cleanup")]
    rightsize = actions[("surge", "rightsize")]
    assert ("embeddings-batch", "rightsize") not in actions  # not sized while its anomaly is unexplained
    assert "anomaly" in doc["services"]["embeddings-batch"]["rightsizing"]["notes"][0]
    assert cleanup["status"] == rightsize["status"] == "committed"
    assert git(project, "rev-parse", "main").strip() == git(project, "rev-list", "-1", "HEAD").strip()
    assert "provisionedConcurrency" not in git(project, "show", f"{cleanup['commit']}:services/warm-reranker.yaml")
    message = git(project, "log", "-1", "--format=%B", rightsize["commit"])
    assert "memoryMib 1024 -> 448" in message and "Evidence:" in message and "Invocations" in message
    body = Path(rightsize["body_file"]).read_text()
    assert "| P10 | P50 | P90 |" in body and "Risk" in body
    # the rightsizing commit applies cleanly on a fresh clone and keeps the comments
    clone = project.parent / "clone"
    subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True)
    patch = git(project, "format-patch", "-1", "--stdout", rightsize["commit"])
    subprocess.run(["git", "apply", "--check", "-"], cwd=clone, input=patch, text=True, check=True)
    after = git(project, "show", f"{rightsize['commit']}:services/surge.yaml").splitlines()
    before = (project / "services/surge.yaml").read_text().splitlines()
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert len(changed) == 1 and re.fullmatch(r"  memoryMib: 448 +# sized for the largest batch", changed[0][1])


def test_observed_history_is_accepted_by_preview(project: Path, cloudwatch) -> None:
    """Declaring the observed usage history must not crash preview's report schema (it used to exit 2)."""
    feed()
    assert observe(project, cloudwatch.env()).returncode == 0
    declaration = project / "services" / "embeddings-batch.yaml"
    declaration.write_text(declaration.read_text().replace(
        '    security.apexlogic.com/data-classification: "internal"\n',
        '    security.apexlogic.com/data-classification: "internal"\n'
        '    finops.apexlogic.com/usage-history: out/observe/dev/usage-history/embeddings-batch.yaml\n'))
    # A service budget between the two prices of warm-reranker below ($47.00 assumed, $49.00 observed): the pack's
    # budget control (the gate) must price it with the observed utilisation, as the report does.
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    stack = yaml.safe_load(stack_file.read_text())
    stack["config"]["guardrails:budgets"] = {"stackMonthlyUsd": 1500, "quantile": "p50", "serviceMonthlyUsd": 48}
    stack_file.write_text(yaml.safe_dump(stack, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    run = subprocess.run([sys.executable, "-m", "preflight", "preview", "--stack", "dev", "--engine", "offline",
                          "--json", "--quiet", "--markdown", "out/comment.md", "--project-dir", str(project)],
                         capture_output=True, text=True, timeout=600, env=env, cwd=project)
    assert run.returncode in (0, 1), run.stderr[-2000:]
    report = json.loads(run.stdout)
    prediction = report["predictions"]["embeddings-batch"]
    assert prediction["workload"]["source"] == "history" and prediction["contributions"] == {}
    from preflight.report.schema import validate_report

    validate_report(report)
    # observed vs predicted: preview picks up what observe measured for this stack, and every report shows it
    observed = report["observed"]
    assert observed["source"] == "out/observe/dev/observe.json"
    assert set(observed["services"]) == {"embeddings-batch", "surge", "warm-reranker"}
    assert [a["service"] for a in observed["anomalies"]] == ["embeddings-batch"]
    idle = [i for i in observed["idle"] if i["service"] == "warm-reranker"]
    assert idle and idle[0]["saving_usd_month"] == pytest.approx(43.80, abs=0.005)
    comment = (project / "out" / "comment.md").read_text()
    assert "### Observed vs predicted" in comment and "| warm-reranker | 💤 idle |" in comment
    # The observed provisioned-concurrency utilisation (0 % for warm-reranker) is a prediction input: its 5 units
    # are charged whatever the traffic, and all of the P50 load (2M x 0.18 s x 1 GB = 360,000 GB-s) is billed on
    # demand. arm64 us-east-1: 5 x 1 GB x 2,628,000 s x $0.0000033334 = 43.800876, + 360,000 x $0.0000133334 =
    # 4.800024, + 2M x $0.20/M = 0.40 -> $49.00 (the default assumption, traffic fills PC first, would price the
    # load at the PC-duration rate: 360,000 x $0.0000077778 = 2.800008 -> $47.00).
    warm = report["predictions"]["warm-reranker"]
    assert observed["services"]["warm-reranker"]["pc_utilisation"] == {
        "value": 0.0, "window": "2026-11-15T00:00:00+00:00/2026-11-29T00:00:00+00:00"}
    assert warm["cost_usd_month"]["p50"] == 49.0
    assert warm["provisioned_concurrency"]["units"] == 5 and warm["provisioned_concurrency"]["utilisation"] == 0.0
    assert warm["provisioned_concurrency"]["source"].startswith(
        "observed PC utilisation 0.0% (2026-11-15T00:00:00+00:00/2026-11-29T00:00:00+00:00, measured ")
    assert warm["provisioned_concurrency"]["source"].endswith(", out/observe/dev/observe.json)")
    assert "observed PC utilisation 0.0%" in comment
    budget = [v["message"] for v in report["violations"] if v["policy"] == "fin-predicted-cost-within-budget"]
    assert len(budget) == 1 and "warm-reranker (services/warm-reranker.yaml:2): predicted P50 $49.00/month exceeds " \
        "guardrails:budgets.serviceMonthlyUsd $48.00/month" in budget[0], budget
    # functions without provisioned concurrency carry no such input
    assert "provisioned_concurrency" not in report["predictions"]["surge"]


def test_unreachable_cloudwatch_is_exit_2_and_nothing_written_or_committed(project: Path) -> None:
    env = {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}  # nothing listens
    branches = git(project, "branch", "--list")
    run = observe(project, env, "--propose")
    assert run.returncode == 2
    assert "CloudWatch" in run.stderr and "nothing was written" in run.stderr and "Traceback" not in run.stderr
    assert not (project / "out" / "observe").exists()
    assert git(project, "branch", "--list") == branches


def test_mandatory_anomaly_exits_1(project: Path, cloudwatch) -> None:
    stack = project / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text()
                     + "  guardrails:observe: {anomalyEnforcement: mandatory, anomalySeverity: high}\n")
    feed()
    run = observe(project, cloudwatch.env())
    assert run.returncode == 1, run.stderr
    assert "embeddings-batch: driver duration" in run.stderr


def test_knative_is_reported_missing_without_prometheus(tmp_path: Path, cloudwatch) -> None:
    project = full_project(tmp_path, {"ksvc.yaml": (REPO / "services" / "multimodal-ai-inference.yaml").read_text()})
    run = observe(project, cloudwatch.env())
    assert run.returncode == 0, run.stderr
    doc = json.loads((project / "out" / "observe" / "dev" / "observe.json").read_text())
    rate = doc["services"]["multimodal-ai-inference"]["measurements"]["requests_per_hour"]
    assert rate["value"] is None and "no Prometheus URL configured" in rate["missing"]


def test_unreachable_prometheus_for_a_knative_service_is_exit_2(tmp_path: Path, cloudwatch) -> None:
    project = full_project(tmp_path, {"ksvc.yaml": (REPO / "services" / "multimodal-ai-inference.yaml").read_text()})
    run = observe(project, cloudwatch.env(), "--prometheus", f"http://127.0.0.1:{free_port()}")
    assert run.returncode == 2 and "127.0.0.1" in run.stderr and "Traceback" not in run.stderr
    assert not (project / "out" / "observe").exists()


def test_observe_messages_and_pull_requests_are_in_the_stack_currency(project: Path, cloudwatch) -> None:
    # ECB 2024-12-24: 1 USD = 0.962001 EUR (tests/predict/test_currency.py). The JSON's money stays USD.
    stack = project / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text() + "  guardrails:currency: EUR\n  guardrails:currencyDate: \"2024-12-24\"\n")
    feed()
    run = observe(project, cloudwatch.env(), "--propose")
    assert run.returncode == 0, run.stderr
    out = project / "out" / "observe" / "dev"
    doc = json.loads((out / "observe.json").read_text())
    assert doc["currency"]["code"] == "EUR" and doc["currency"]["per_usd"] == 0.962001
    idle = next(i for i in doc["idle"] if i["service"] == "warm-reranker")
    assert idle["saving_usd_month"] == pytest.approx(43.80, abs=0.005)  # USD, as priced
    # $43.80 x 0.962001 = 42.1356 -> 42.14 EUR
    assert "saves 42.14 EUR/month" in idle["message"] and "$" not in idle["message"]
    # $5.20 x 0.962001 = 5.0024 -> 5.00 EUR; $24.40 x 0.962001 = 23.4728 -> 23.47 EUR
    anomaly = doc["services"]["embeddings-batch"]["anomaly"]["message"]
    assert anomaly.startswith("cost 5.00 EUR -> 23.47 EUR/month") and "$" not in anomaly
    markdown = (out / "observe.md").read_text()
    assert "Costs in EUR at 1 USD = 0.962001 EUR" in markdown and "saves 42.14 EUR/month" in markdown
    cleanup = next(a for a in doc["actions"] if a["service"] == "warm-reranker")
    body = Path(cleanup["body_file"]).read_text()
    assert "| 42.14 EUR/month | 42.14 EUR/month | 42.14 EUR/month |" in body and "$" not in body
    assert "0.962001" in body
    assert "saves 42.14 EUR/month" in run.stdout + run.stderr
