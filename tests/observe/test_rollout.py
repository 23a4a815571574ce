"""`preflight rollout` end to end: real Prometheus (scraping the exporter, or backfilled history), a real git
repository, the CLI's own entry point. Decisions: promote (commit), rollback (revert of exactly the canary's
commit), hold (reason + traffic still needed), needs-a-human in prod, missing Prometheus."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from knative_metrics import Revision, openmetrics_history

from preflight.cli import main
from tests.gitops.helpers import git
from tests.observe.conftest import free_port
from tests.observe.project import canary_project

STABLE = "inference-00001"
CANARY = "inference-00002"


END = int(time.time()) - 1  # backfilled histories end here; judging the window ending here counts exactly


def _history(stable: Revision, canary: Revision, n_stable: int, n_canary: int, minutes: int = 50) -> str:
    return openmetrics_history("ai", "inference", {stable: n_stable, canary: n_canary}, END - minutes * 60, END)


def _rollout(root: Path, url: str, capsys, *extra: str, stack: str = "dev",
             until: int | None = END) -> tuple[int, dict]:
    capsys.readouterr()
    window = ["--until", str(until)] if until else []
    code = main(["rollout", "--project-dir", str(root), "--stack", stack, "--service", "inference", "--prometheus",
                 url, "--since", "1h", "--json", *window, *extra])
    out = capsys.readouterr().out
    return code, (json.loads(out) if out.strip() else {})


def _annotations(root: Path, ref: str) -> dict:
    return yaml.safe_load(git(root, "show", f"{ref}:services/inference.yaml"))["metadata"]["annotations"]


def test_healthy_canary_is_promoted_by_one_step_live(prometheus_server, knative_exporter, tmp_path: Path,
                                                     capsys) -> None:
    root, _ = canary_project(tmp_path / "repo", step=40)
    main_before = git(root, "rev-parse", "main")
    port = knative_exporter("ai", "inference", [Revision(STABLE, rps=600, error_rate=0.001),
                                                Revision(CANARY, rps=150, error_rate=0.001)])
    server = prometheus_server(scrape=[port])
    server.wait_for(f'sum(revision_app_request_count{{revision_name="{CANARY}"}})',
                    lambda r: bool(r) and float(r[0]["value"][1]) > 2600, timeout_s=90)
    code, record = _rollout(root, server.url, capsys, until=None)  # live: the window ends now
    assert code == 0, record
    assert record["decision"] == "promote", record["reasons"]
    assert {t["metric"]: t["outcome"] for t in record["metrics"]["tests"]} == {
        "error_rate": "safe", "latency_p95": "safe", "latency_p99": "safe"}
    assert record["status"] == "committed" and record["branch"] == "preflight/promote/inference"
    assert git(root, "rev-parse", "main") == main_before and git(root, "status", "--porcelain") == ""
    after = _annotations(root, record["commit"])
    assert after["rollout.apexlogic.com/canary-percent"] == "50"  # 10 % + the declared 40-point step
    text = git(root, "show", f"{record['commit']}:services/inference.yaml")
    assert '    finops.apexlogic.com/cost-center: "AI-Product-X"   # charged to the product team' in text
    message = git(root, "log", "-1", "--format=%B", record["commit"])
    assert message.startswith("rollout: promote inference canary inference-00002 10% -> 50%\n")
    assert "error_rate: canary" in message and "Preflight-Action: promote" in message
    assert Path(record["record"]).is_file() and record["queries"]


def test_failing_canary_is_reverted_exactly(prometheus_server, tmp_path: Path, capsys) -> None:
    root, introduced = canary_project(tmp_path / "repo")
    main_before = git(root, "rev-parse", "main")
    server = prometheus_server(history=_history(Revision(STABLE, error_rate=0.001), Revision(CANARY, error_rate=0.05),
                                                4000, 1000))
    code, record = _rollout(root, server.url, capsys)
    assert code == 1 and record["decision"] == "rollback", record
    assert record["reverted"] == [introduced]
    error_test = next(t for t in record["metrics"]["tests"] if t["metric"] == "error_rate")
    assert (error_test["canary_trials"], error_test["canary_bad"]) == (1000, 50)
    assert error_test["stable"]["errors"] == 4 and error_test["outcome"] == "harm"
    assert "error_rate: canary 50/1000 = 5.0000% above the tolerated 0.6000%" in record["reasons"][0]
    commit = record["commit"]
    assert git(root, "rev-parse", "main") == main_before and git(root, "status", "--porcelain") == ""
    # exactly the canary's commit undone: the declaration is back to its state before it, the later commit stays
    assert git(root, "show", f"{commit}:services/inference.yaml") == git(root, "show",
                                                                          f"{introduced}^:services/inference.yaml")
    assert git(root, "show", f"{commit}:NOTES.md") == "unrelated"
    assert git(root, "diff", "--stat", f"{commit}^", commit) == git(root, "diff", "--stat", introduced,
                                                                    f"{introduced}^")
    assert f"Reverts: {introduced}" in git(root, "log", "-1", "--format=%B", commit)


def test_twenty_requests_hold_with_the_reason(prometheus_server, tmp_path: Path, capsys) -> None:
    root, _ = canary_project(tmp_path / "repo")
    refs = git(root, "for-each-ref")
    server = prometheus_server(history=_history(Revision(STABLE), Revision(CANARY, error_rate=0.1), 10, 10))
    code, record = _rollout(root, server.url, capsys)
    assert code == 0 and record["decision"] == "hold"
    assert record["reasons"] == [
        f"{CANARY} served 10 request(s); at least 200 per revision are needed before any decision (190 more; 20 "
        "request(s) in total so far)",
        f"{STABLE} served 10 request(s); at least 200 per revision are needed before any decision (190 more; 20 "
        "request(s) in total so far)"]
    assert record["commit"] is None and git(root, "for-each-ref") == refs
    code = main(["rollout", "--project-dir", str(root), "--stack", "dev", "--service", "inference", "--prometheus",
                 server.url, "--since", "1h", "--until", str(END)])
    text = capsys.readouterr().out
    assert code == 0 and text.startswith(f"inference: HOLD (stable {STABLE}, canary {CANARY}; window ")
    assert f"  - {CANARY} served 10 request(s)" in text and "record: " in text


def test_hold_says_how_much_more_traffic_decides(prometheus_server, tmp_path: Path, capsys) -> None:
    root, _ = canary_project(tmp_path / "repo", min_requests=100)
    server = prometheus_server(history=_history(Revision(STABLE), Revision(CANARY), 2000, 150))
    code, record = _rollout(root, server.url, capsys)
    assert code == 0 and record["decision"] == "hold"
    error_reason = next(r for r in record["reasons"] if r.startswith("error_rate"))
    needed = next(t for t in record["metrics"]["tests"] if t["metric"] == "error_rate")["more_trials_needed"]
    assert needed > 0 and f"about {needed} more canary requests would decide" in error_reason


def test_promote_to_full_makes_the_canary_stable(prometheus_server, tmp_path: Path, capsys) -> None:
    root, _ = canary_project(tmp_path / "repo", step=None)
    server = prometheus_server(history=_history(Revision(STABLE), Revision(CANARY), 9000, 3000))
    code, record = _rollout(root, server.url, capsys)
    assert code == 0 and record["decision"] == "promote", record["reasons"]
    after = _annotations(root, record["commit"])
    assert after["rollout.apexlogic.com/stable-revision"] == CANARY
    assert after["rollout.apexlogic.com/canary-percent"] == "0"


def test_declared_kpi_fails_the_canary(prometheus_server, tmp_path: Path, capsys) -> None:
    kpi = 'max(model_quality{revision_name="$revision"}) >= 0.9'
    root, introduced = canary_project(tmp_path / "repo", kpis={"quality": kpi})
    server = prometheus_server(history=_history(Revision(STABLE, model_quality=0.95),
                                                Revision(CANARY, model_quality=0.7), 9000, 3000))
    code, record = _rollout(root, server.url, capsys)
    assert code == 1 and record["decision"] == "rollback"
    tests = {t["metric"]: t for t in record["metrics"]["tests"]}
    assert tests["kpi.quality"]["outcome"] == "harm" and tests["error_rate"]["outcome"] == "safe"
    assert tests["kpi.quality"]["queries"][0] == f'max(model_quality{{revision_name="{CANARY}"}}) >= 0.9'[:-7]
    assert tests["kpi.quality"]["stable"]["violations"] == 0
    assert record["reverted"] == [introduced]


def test_prod_prepares_but_commits_only_with_approve(prometheus_server, tmp_path: Path, capsys) -> None:
    root, introduced = canary_project(tmp_path / "repo", env="prod")
    refs = git(root, "for-each-ref")
    server = prometheus_server(history=_history(Revision(STABLE, error_rate=0.001), Revision(CANARY, error_rate=0.05),
                                                4000, 1000))
    code, record = _rollout(root, server.url, capsys, stack="prod")
    assert code == 1 and record["decision"] == "rollback" and record["status"] == "prepared"
    assert record["commit"] is None and record["needs_approval"] is True
    assert git(root, "for-each-ref") == refs and git(root, "status", "--porcelain") == ""
    subprocess.run(["git", "apply", "--check", record["patch_file"]], cwd=root, check=True)
    assert "Needs a human" in Path(record["body_file"]).read_text()
    code, approved = _rollout(root, server.url, capsys, "--approve", stack="prod")
    assert approved["status"] == "committed" and approved["reverted"] == [introduced]
    assert git(root, "show", f"{approved['commit']}:services/inference.yaml") == git(
        root, "show", f"{introduced}^:services/inference.yaml")


def test_missing_prometheus_is_exit_2_and_nothing_committed(tmp_path: Path, capsys) -> None:
    root, _ = canary_project(tmp_path / "repo")
    refs = git(root, "for-each-ref")
    port = free_port()
    capsys.readouterr()
    code = main(["rollout", "--project-dir", str(root), "--stack", "dev", "--service", "inference",
                 "--prometheus", f"http://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: cannot reach Prometheus at http://127.0.0.1:{port}:" in err and "nothing committed" in err
    assert git(root, "for-each-ref") == refs and not (root / "out" / "gitops").exists()


@pytest.mark.parametrize(("args", "needle"), [
    (["--service", "nope"], "--service 'nope': no declaration with that metadata.name (declared: inference)"),
    (["--service", "inference", "--since", "1 week"], "--since '1 week': expected a number and a unit"),
    (["--service", "inference", "--until", "yesterday"], "--until 'yesterday': expected RFC 3339"),
])
def test_usage_errors_are_exit_2(tmp_path: Path, capsys, args: list[str], needle: str) -> None:
    root, _ = canary_project(tmp_path / "repo")
    capsys.readouterr()
    code = main(["rollout", "--project-dir", str(root), "--stack", "dev", "--prometheus", "http://127.0.0.1:1",
                 *args])
    assert code == 2 and needle in capsys.readouterr().err


@pytest.mark.parametrize("kpi", [
    # a range vector where an instant vector is needed: Prometheus refuses it (400 bad_data)
    'max(model_quality{revision_name="$revision"}[5m]) >= 0.9',
    # valid PromQL that fails when evaluated (many-to-many matching: 422 execution)
    'model_quality{revision_name="$revision"} / on() group_left model_quality >= 0.9',
])
def test_kpi_query_rejected_by_a_reachable_prometheus_holds(prometheus_server, tmp_path: Path, capsys,
                                                            kpi: str) -> None:
    root, _ = canary_project(tmp_path / "repo", kpis={"quality": kpi})
    refs = git(root, "for-each-ref")
    # a healthy canary: without the KPI it would be promoted (test_healthy_canary_is_promoted_...)
    server = prometheus_server(history=_history(Revision(STABLE, model_quality=0.95),
                                                Revision(CANARY, model_quality=0.95), 9000, 3000))
    code, record = _rollout(root, server.url, capsys)
    assert code == 0 and record["decision"] == "hold" and record["commit"] is None, record
    assert {t["metric"]: t["outcome"] for t in record["metrics"]["tests"]} == {
        "error_rate": "safe", "latency_p95": "safe", "latency_p99": "safe"}
    (reason,) = [r for r in record["reasons"] if r.startswith("kpi.quality")]
    assert reason.startswith("kpi.quality: cannot be tested (Prometheus rejected its query: ")
    assert f'{server.url}: query failed for `{kpi.replace("$revision", CANARY).rsplit(" >=", 1)[0]}`' in reason
    assert git(root, "for-each-ref") == refs
