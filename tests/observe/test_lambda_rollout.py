"""`preflight rollout` for a Lambda alias canary, end to end: moto's CloudWatch (data put through PutMetricData per
executed version, as Lambda publishes it), a real git repository, the CLI's own entry point. Decisions: promote
(a commit removing `spec.canary`, comments kept), rollback (revert of exactly the canary's commit), hold (too few
invocations, nothing committed), needs-a-human in prod."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from preflight.cli import main
from tests.gitops.helpers import git, init_repo
from tests.observe.helpers import END, put_alias_versions, put_version_gauge

STACK = """config:
  aws:region: eu-west-1
  guardrails:environment: {env}
  guardrails:platforms: [lambda]
"""
FUNCTION = """# Embeddings for the search index (format: components/specs/schemas/function-spec.schema.json).
apiVersion: serverless-guardrails.dev/v1alpha1
kind: Function
metadata:
  name: emb
  annotations:
    finops.apexlogic.com/cost-center: "AI-Product-X"   # charged to the product team
    finops.apexlogic.com/project-id: "nova"
    finops.apexlogic.com/owner: "ml-team"
spec:
  runtime: python3.12
  handler: app.handler
  code:
    path: functions/emb
  memoryMib: 1024          # sized for the largest batch
  timeoutSeconds: 60
{canary}  logRetentionDays: 30
"""
CANARY = """  canary:                  # v2 of the handler on 10 % of the live alias
    stableVersion: "7"
    weight: 0.1
"""
UNTIL = END.isoformat()
HEALTHY = {"7": {"per_minute": 90, "error_rate": 0.0005, "min_ms": 80.0, "max_ms": 250.0},
           "8": {"per_minute": 10, "error_rate": 0.0, "min_ms": 85.0, "max_ms": 240.0}}


def lambda_project(root: Path, env: str = "dev", canary: str = CANARY) -> tuple[Path, str]:
    """Three commits: the function (alias on its published version), the canary commit (handler v2 + spec.canary,
    returned) and an unrelated later one."""
    files = {"Pulumi.yaml": "name: lambda-canary\nruntime: python\nstackConfigDir: stacks\n", ".gitignore": "out/\n",
             "stacks/Pulumi.dev.yaml": STACK.format(env=env),
             "functions/emb/app.py": "def handler(e, c):\n    return 1\n",
             "services/emb.yaml": FUNCTION.format(canary="")}
    init_repo(root, files)
    (root / "functions/emb/app.py").write_text("def handler(e, c):\n    return 2\n")
    (root / "services/emb.yaml").write_text(FUNCTION.format(canary=canary))
    git(root, "commit", "-qam", "emb v2 as a 10% canary")
    introduced = git(root, "rev-parse", "HEAD")
    (root / "NOTES.md").write_text("unrelated\n")
    git(root, "add", "NOTES.md")
    git(root, "commit", "-qm", "notes")
    return root, introduced


def rollout(root: Path, capsys, *extra: str, since: str = "3h") -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["rollout", "--project-dir", str(root), "--stack", "dev", "--service", "emb", "--since", since,
                 "--until", UNTIL, "--json", *extra])
    out = capsys.readouterr().out
    return code, (json.loads(out) if out.strip() else {})


def test_healthy_lambda_canary_is_promoted_with_a_minimal_diff(cloudwatch, tmp_path: Path, capsys) -> None:
    root, _ = lambda_project(tmp_path / "repo")
    main_before = git(root, "rev-parse", "main")
    put_alias_versions("emb", HEALTHY, minutes=180)
    code, record = rollout(root, capsys)
    assert code == 0, record
    assert record["decision"] == "promote", record["reasons"]
    assert (record["stable"], record["canary"]) == ("7", "8")
    tests = {t["metric"]: t for t in record["metrics"]["tests"]}
    assert {m: t["outcome"] for m, t in tests.items()} == {"error_rate": "safe", "latency_p99": "safe"}
    assert (tests["error_rate"]["canary_trials"], tests["error_rate"]["canary_bad"]) == (1800, 0)
    assert tests["error_rate"]["stable"]["errors"] == 8  # 0.05 % of 16,200
    assert tests["latency_p99"]["stable"]["latency_p99_ms_bounds"] == [250.0, 250.0]
    assert (tests["latency_p99"]["canary_bad"], tests["latency_p99"]["canary_bad_upper"]) == (0, 0)
    dims = json.loads(record["metrics"]["versions"]["8"]["requests"]["query"])["Dimensions"]
    assert dims == {"FunctionName": "emb", "Resource": "emb:live", "ExecutedVersion": "8"}
    assert record["status"] == "committed" and record["branch"] == "preflight/promote/emb"
    assert git(root, "rev-parse", "main") == main_before and git(root, "status", "--porcelain") == ""
    after = git(root, "show", f"{record['commit']}:services/emb.yaml")
    assert after == FUNCTION.format(canary="").strip()  # only spec.canary removed; comments, quotes kept
    assert yaml.safe_load(after)["spec"].get("canary") is None
    changed = git(root, "diff", "--numstat", f"{record['commit']}^", record["commit"])
    assert changed == "0\t3\tservices/emb.yaml"
    message = git(root, "log", "-1", "--format=%B", record["commit"])
    assert message.startswith("rollout: promote emb: version 8 takes all traffic of alias live\n")
    assert "Preflight-Action: promote" in message and "ExecutedVersion" in message


def test_failing_lambda_canary_is_reverted_exactly(cloudwatch, tmp_path: Path, capsys) -> None:
    root, introduced = lambda_project(tmp_path / "repo")
    main_before = git(root, "rev-parse", "main")
    put_alias_versions("emb", {"7": {**HEALTHY["7"], "error_rate": 0.005}, "8": {**HEALTHY["8"], "error_rate": 0.08}},
                       minutes=180)
    code, record = rollout(root, capsys)
    assert code == 1 and record["decision"] == "rollback", record
    assert record["reverted"] == [introduced]
    error = next(t for t in record["metrics"]["tests"] if t["metric"] == "error_rate")
    assert (error["canary_trials"], error["canary_bad"], error["stable"]["errors"]) == (1800, 144, 81)
    assert error["outcome"] == "harm"
    assert record["reasons"][0].startswith("error_rate: canary 144/1800 = 8.0000% above the tolerated 1.0000%")
    commit = record["commit"]
    assert git(root, "rev-parse", "main") == main_before and git(root, "status", "--porcelain") == ""
    for path in ("services/emb.yaml", "functions/emb/app.py"):  # the canary's whole commit undone
        assert git(root, "show", f"{commit}:{path}") == git(root, "show", f"{introduced}^:{path}")
    assert git(root, "show", f"{commit}:NOTES.md") == "unrelated"
    assert f"Reverts: {introduced}" in git(root, "log", "-1", "--format=%B", commit)


def test_too_few_invocations_hold_and_commit_nothing(cloudwatch, tmp_path: Path, capsys) -> None:
    root, _ = lambda_project(tmp_path / "repo")
    refs = git(root, "for-each-ref")
    put_alias_versions("emb", {"7": {**HEALTHY["7"], "per_minute": 3}, "8": {**HEALTHY["8"], "per_minute": 1}},
                       minutes=20)
    code, record = rollout(root, capsys)
    assert code == 0 and record["decision"] == "hold", record
    assert record["reasons"][0] == ("version 8 served 20 request(s); at least 200 per revision are needed before "
                                    "any decision (180 more; 80 request(s) in total so far)")
    assert record["commit"] is None and record["status"] is None and git(root, "for-each-ref") == refs


def test_no_canary_traffic_yet_is_a_hold_with_the_reason(cloudwatch, tmp_path: Path, capsys) -> None:
    root, _ = lambda_project(tmp_path / "repo")
    put_alias_versions("emb", {"7": HEALTHY["7"]}, minutes=30)
    code, record = rollout(root, capsys)
    assert code == 0 and record["decision"] == "hold" and record["canary"] is None
    assert "no version of emb other than 7 ran invocations through alias live" in record["reasons"][0]


def test_prod_promotion_is_prepared_not_committed_without_approve(cloudwatch, tmp_path: Path, capsys) -> None:
    root, _ = lambda_project(tmp_path / "repo", env="prod")
    refs = git(root, "for-each-ref")
    put_alias_versions("emb", HEALTHY, minutes=180)
    code, record = rollout(root, capsys)
    assert code == 1 and record["decision"] == "promote" and record["status"] == "prepared", record
    assert git(root, "for-each-ref") == refs
    patch = Path(record["patch_file"]).read_text()
    assert "-  canary:                  # v2 of the handler on 10 % of the live alias" in patch
    code, record = rollout(root, capsys, "--approve")
    assert code == 0 and record["status"] == "committed"


def test_unreachable_cloudwatch_is_exit_2_naming_it(tmp_path: Path, capsys, monkeypatch) -> None:
    from tests.observe.conftest import FAKE_CREDENTIALS, free_port

    root, _ = lambda_project(tmp_path / "repo")
    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    refs = git(root, "for-each-ref")
    code = main(["rollout", "--project-dir", str(root), "--stack", "dev", "--service", "emb", "--until", UNTIL])
    assert code == 2
    err = capsys.readouterr().err
    assert "ListMetrics for 'emb' failed" in err and "nothing committed" in err
    assert git(root, "for-each-ref") == refs


OVERLAY = """# prod only: the canary runs in prod first (JSON Merge Patch on the function of the same name)
apiVersion: serverless-guardrails.dev/v1alpha1
kind: Function
metadata:
  name: emb
spec:
  memoryMib: 2048    # prod batches are larger
  canary: {stableVersion: "7", weight: 0.1}
"""


def test_a_canary_declared_in_the_stacks_overlay_is_promoted_and_reverted_there(cloudwatch, tmp_path: Path,
                                                                                 capsys) -> None:
    root = init_repo(tmp_path / "repo", {
        "Pulumi.yaml": "name: lambda-canary\nruntime: python\nstackConfigDir: stacks\n", ".gitignore": "out/\n",
        "stacks/Pulumi.dev.yaml": STACK.format(env="dev"),
        "stacks/Pulumi.prod.yaml": STACK.format(env="prod") + "  guardrails:gitops:\n    requireApproval: []\n",
        "functions/emb/app.py": "def handler(e, c):\n    return 1\n", "services/emb.yaml": FUNCTION.format(canary="")})
    (root / "services/overlays/prod").mkdir(parents=True)
    (root / "services/overlays/prod/emb.yaml").write_text(OVERLAY)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "emb: 10% canary in prod")
    introduced = git(root, "rev-parse", "HEAD")
    put_alias_versions("emb", HEALTHY, minutes=180)
    capsys.readouterr()
    base = ["rollout", "--project-dir", str(root), "--stack", "prod", "--service", "emb", "--since", "3h",
            "--until", UNTIL, "--json"]
    assert main(base) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["decision"] == "promote" and record["canary_declared_in"] == "services/overlays/prod/emb.yaml"
    overlay = git(root, "show", f"{record['commit']}:services/overlays/prod/emb.yaml")
    assert overlay == OVERLAY.replace('  canary: {stableVersion: "7", weight: 0.1}\n', "").strip()
    assert git(root, "show", f"{record['commit']}:services/emb.yaml") == FUNCTION.format(canary="").strip()
    cloudwatch.reset()
    put_alias_versions("emb", {"7": HEALTHY["7"], "8": {**HEALTHY["8"], "error_rate": 0.08}}, minutes=180)
    assert main(base) == 1
    record = json.loads(capsys.readouterr().out)
    assert record["decision"] == "rollback" and record["reverted"] == [introduced]
    assert git(root, "ls-tree", "--name-only", record["commit"], "services/overlays/prod/") == ""


# ---- declared KPIs (spec.canary.kpis): a CloudWatch metric per version, the same KPI test as Knative's -------

KPI_CANARY = CANARY + """    kpis:                  # the model's quality score the handler publishes per version
      - name: quality
        namespace: ApexLogic/Inference
        metric: ModelQuality
        statistic: Average
        dimensions: {FunctionName: $function, ExecutedVersion: $version}
        op: ">="
        threshold: 0.9
"""


def kpi_test_of(record: dict) -> dict:
    return next(t for t in record["metrics"]["tests"] if t["metric"] == "kpi.quality")


def test_a_failing_quality_kpi_rolls_back_though_errors_and_latency_are_healthy(cloudwatch, tmp_path: Path,
                                                                                capsys) -> None:
    root, introduced = lambda_project(tmp_path / "repo", canary=KPI_CANARY)
    put_alias_versions("emb", HEALTHY, minutes=180)
    put_version_gauge("ApexLogic/Inference", "ModelQuality", "emb", {"7": 0.95, "8": 0.7}, minutes=180)
    code, record = rollout(root, capsys)
    assert code == 1 and record["decision"] == "rollback", record["reasons"]
    assert record["reverted"] == [introduced]
    outcomes = {t["metric"]: t["outcome"] for t in record["metrics"]["tests"]}
    assert outcomes == {"error_rate": "safe", "latency_p99": "safe", "kpi.quality": "harm"}
    kpi = kpi_test_of(record)
    assert (kpi["canary_trials"], kpi["canary_bad"], kpi["tolerated_rate"]) == (180, 180, 0.05)
    assert kpi["stable"] == {"revision": "7", "condition": ">= 0.9", "samples": 180, "violations": 0,
                             "step_seconds": 60}
    assert kpi["alpha"] == pytest.approx(0.05 / 3)  # three metrics share the false-alarm rate
    query = json.loads(kpi["queries"][0])
    assert (query["Namespace"], query["MetricName"], query["Stat"], query["Period"]) == \
        ("ApexLogic/Inference", "ModelQuality", "Average", 60)
    assert query["Dimensions"] == {"FunctionName": "emb", "ExecutedVersion": "8"}
    assert kpi["queries"][0] in record["queries"]
    assert [r for r in record["reasons"] if r.startswith("kpi.quality: canary 180/180 = 100.0000% above the "
                                                         "tolerated 5.0000%")], record["reasons"]
    assert record["declared"]["kpis"][0]["threshold"] == 0.9
    assert "kpi.quality: canary 180/180" in git(root, "log", "-1", "--format=%B", record["commit"])
    assert git(root, "show", f"{record['commit']}:services/emb.yaml") == FUNCTION.format(canary="").strip()


def test_a_healthy_quality_kpi_does_not_block_promotion(cloudwatch, tmp_path: Path, capsys) -> None:
    root, _ = lambda_project(tmp_path / "repo", canary=KPI_CANARY)
    put_alias_versions("emb", HEALTHY, minutes=180)
    put_version_gauge("ApexLogic/Inference", "ModelQuality", "emb", {"7": 0.93, "8": 0.96}, minutes=180)
    code, record = rollout(root, capsys)
    assert code == 0 and record["decision"] == "promote", record["reasons"]
    kpi = kpi_test_of(record)
    assert (kpi["outcome"], kpi["canary_trials"], kpi["canary_bad"]) == ("safe", 180, 0)
    assert any(r.startswith("kpi.quality: canary 0/180 = 0.0000% proved below") for r in record["reasons"])


def test_a_kpi_without_data_holds_with_the_reason_never_passes(cloudwatch, tmp_path: Path, capsys) -> None:
    root, _ = lambda_project(tmp_path / "repo", canary=KPI_CANARY)
    refs = git(root, "for-each-ref")
    put_alias_versions("emb", HEALTHY, minutes=180)  # errors and latency alone would promote
    put_version_gauge("ApexLogic/Inference", "ModelQuality", "emb", {"7": 0.95}, minutes=180)  # none for 8
    code, record = rollout(root, capsys)
    assert code == 0 and record["decision"] == "hold", record["reasons"]
    assert {t["metric"] for t in record["metrics"]["tests"]} == {"error_rate", "latency_p99"}
    no_samples = [r for r in record["reasons"] if r.startswith("kpi.quality: CloudWatch `")]
    assert len(no_samples) == 1 and no_samples[0].endswith("returned no samples for version 8 in the window")
    assert '"ExecutedVersion":"8"' in no_samples[0]
    assert record["commit"] is None and git(root, "for-each-ref") == refs


@pytest.mark.parametrize(("bad", "field", "allowed"), [
    ('        op: ">="\n', "spec.canary.kpis[0].op", "Input should be '<', '<=', '>' or '>=' (found '=>')"),
    ("        dimensions: {FunctionName: $function, ExecutedVersion: $version}\n", "spec.canary.kpis[0].dimensions",
     "a dimension value must contain $version"),
    ("        statistic: Average\n", "spec.canary.kpis[0].statistic", "must be a CloudWatch statistic"),
], ids=["op", "dimensions", "statistic"])
def test_a_bad_kpi_declaration_is_exit_2_naming_file_line_and_field(tmp_path: Path, capsys, bad: str, field: str,
                                                                   allowed: str) -> None:
    replacement = {"op": '        op: "=>"\n', "dimensions": "        dimensions: {FunctionName: $function}\n",
                   "statistic": "        statistic: Mean\n"}[field.rsplit(".", 1)[1]]
    root, _ = lambda_project(tmp_path / "repo", canary=KPI_CANARY.replace(bad, replacement))
    refs = git(root, "for-each-ref")
    text = (root / "services/emb.yaml").read_text()
    line = text[:text.index(replacement)].count("\n") + 1
    code = main(["rollout", "--project-dir", str(root), "--stack", "dev", "--service", "emb", "--until", UNTIL])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"services/emb.yaml:{line}: {field}: {allowed}" in err and "nothing committed" in err
    assert "Traceback" not in err and git(root, "for-each-ref") == refs


def test_a_kpi_query_cloudwatch_rejects_holds_with_the_reason(cloudwatch, tmp_path: Path, capsys) -> None:
    # CloudWatch is reachable (errors and Duration are read) but fails the KPI's query: moto's server does not
    # compute extended statistics such as p99 over data, so it answers GetMetricData for this KPI with HTTP 500
    root, _ = lambda_project(tmp_path / "repo", canary=KPI_CANARY.replace("statistic: Average", "statistic: p99"))
    refs = git(root, "for-each-ref")
    put_alias_versions("emb", HEALTHY, minutes=180)  # errors and latency alone would promote
    put_version_gauge("ApexLogic/Inference", "ModelQuality", "emb", {"7": 0.95, "8": 0.96}, minutes=180)
    code, record = rollout(root, capsys)
    assert code == 0 and record["decision"] == "hold", record["reasons"]
    assert {t["metric"]: t["outcome"] for t in record["metrics"]["tests"]} == {
        "error_rate": "safe", "latency_p99": "safe"}
    (reason,) = [r for r in record["reasons"] if r.startswith("kpi.quality")]
    assert reason.startswith("kpi.quality: cannot be tested (CloudWatch http://127.0.0.1:")
    assert reason.endswith("GetMetricData for KPI 'quality' failed: HTTP 500)")
    assert record["commit"] is None and git(root, "for-each-ref") == refs
