"""The real Trivy / CycloneDX reports in shared/data/trivy drive the gate: a public confidential service vs a
cluster-local internal one, with freshness judged against a fixed clock."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from guardrails_core.settings import BlockRule
from guardrails_supply_chain import POLICY_REPORT_FRESH, POLICY_VULN_GATE, evaluate_resource
from guardrails_supply_chain.ranking import rank_vulnerabilities
from guardrails_supply_chain.vulns import ReportError, load_report
from sc_helpers import A_TXT_SHA256, knative, settings, shared_dir

TRIVY = shared_dir() / "data" / "trivy"
# Upstream fixed every report's timestamp to 2021-08-25T12:20:30Z; judge freshness five days later.
NOW = datetime(2021, 8, 30, tzinfo=UTC)
IMAGE = f"ghcr.io/apexlogic/app@sha256:{A_TXT_SHA256}"

# report -> (blocked CVE ids for a public confidential service); cluster-local internal blocks nothing.
EXPECTED_PUBLIC_CONFIDENTIAL = {
    "alpine-310.json.golden": set(),  # mediums only
    "amazon-2.json.golden": set(),  # medium + low
    "debian-buster.json.golden": {"CVE-2019-18224"},  # fixable critical, AV:N
    "distroless-python27.json.golden": set(),  # medium (no fix) + low
    "spring4shell-jre11.json.golden": {"CVE-2022-22965"},  # Spring4Shell, fixable critical
    "fluentd-multiple-lockfiles-short.cdx.json.golden": {"CVE-2019-18224"},  # CycloneDX: critical via NVD v3
}


def _project(tmp_path: Path, report: str) -> str:
    (tmp_path / "scans").mkdir(exist_ok=True)
    shutil.copyfile(TRIVY / report, tmp_path / "scans" / report)
    return f"scans/{report}"


def _evaluate(tmp_path: Path, report: str, *, public: bool, classification: str, now: datetime = NOW):
    rel = _project(tmp_path, report)
    labels = {} if public else {"networking.knative.dev/visibility": "cluster-local"}
    resource = knative(
        "svc",
        {"security.apexlogic.com/vulnerability-report": rel,
         "security.apexlogic.com/data-classification": classification},
        IMAGE,
        labels,
    )
    return evaluate_resource(resource, settings("dev"), tmp_path, now=now)


@pytest.mark.parametrize("report", sorted(EXPECTED_PUBLIC_CONFIDENTIAL))
def test_public_confidential_blocks_expected(tmp_path: Path, report: str) -> None:
    evaluation = _evaluate(tmp_path, report, public=True, classification="confidential")
    blocked = {m.split(" in ")[0].removeprefix("svc: ") for m in evaluation.messages(POLICY_VULN_GATE)}
    assert blocked == EXPECTED_PUBLIC_CONFIDENTIAL[report]
    record = evaluation.records[0]
    assert record["kind"] == "image"
    items = record["vulnerabilities"]
    assert items, "every report here lists vulnerabilities; they must all be reported"
    assert {i["id"] for i in items if i["blocked"]} == EXPECTED_PUBLIC_CONFIDENTIAL[report]
    assert evaluation.messages(POLICY_REPORT_FRESH) == []
    for item in items:
        assert item["rank"] in ("P1", "P2", "P3", "P4") and item["reasons"]


@pytest.mark.parametrize("report", sorted(EXPECTED_PUBLIC_CONFIDENTIAL))
def test_cluster_local_internal_passes_but_reports(tmp_path: Path, report: str) -> None:
    evaluation = _evaluate(tmp_path, report, public=False, classification="internal")
    assert evaluation.messages(POLICY_VULN_GATE) == []
    items = evaluation.records[0]["vulnerabilities"]
    assert items and not any(i["blocked"] for i in items)
    assert all("exposure cluster-local (+0)" in i["reasons"] for i in items)


def test_ranking_orders_by_context(tmp_path: Path) -> None:
    report = load_report(TRIVY / "debian-buster.json.golden")
    public = rank_vulnerabilities(report.vulnerabilities, "public", "confidential", [])
    private = rank_vulnerabilities(report.vulnerabilities, "cluster-local", "internal", [])
    assert [r.vuln.id for r in public] == ["CVE-2019-18224", "CVE-2019-18276"]
    top_public, top_private = public[0], private[0]
    assert top_public.rank == "P1" and top_public.score == 95
    assert top_private.score == 75 and top_private.rank == "P2"
    assert any("AV:N" in reason for reason in top_public.reasons)
    bash = public[1]  # local-only, no fix, low
    assert bash.vuln.network is False and bash.vuln.fixable is False
    assert bash.rank == "P4"


def test_block_rule_by_rank(tmp_path: Path) -> None:
    report = load_report(TRIVY / "amazon-2.json.golden")
    ranked = rank_vulnerabilities(report.vulnerabilities, "public", "restricted", [BlockRule(min_rank="P1")])
    # CVE-2019-5481: medium 20 + AV:N 20 + fix 10 + public 15 + restricted 15 = 80 -> P1 -> blocked
    assert [(r.vuln.id, r.score, r.blocked) for r in ranked] == [("CVE-2019-5481", 80, True),
                                                                  ("CVE-2019-5436", 50, False)]


def test_expired_report_is_a_violation(tmp_path: Path) -> None:
    late = datetime(2021, 12, 1, tzinfo=UTC)
    evaluation = _evaluate(tmp_path, "alpine-310.json.golden", public=False, classification="internal", now=late)
    messages = evaluation.messages(POLICY_REPORT_FRESH)
    assert len(messages) == 1 and "97 days old" in messages[0] and "limit is 30 days" in messages[0]


def test_report_dated_in_future_is_a_violation(tmp_path: Path) -> None:
    early = datetime(2021, 8, 1, tzinfo=UTC)
    evaluation = _evaluate(tmp_path, "alpine-310.json.golden", public=False, classification="internal", now=early)
    assert any("in the future" in m for m in evaluation.messages(POLICY_REPORT_FRESH))


def test_configured_age_limit(tmp_path: Path) -> None:
    rel = _project(tmp_path, "alpine-310.json.golden")
    resource = knative("svc", {"security.apexlogic.com/vulnerability-report": rel}, IMAGE)
    late = datetime(2021, 12, 1, tzinfo=UTC)
    conf = settings("dev", vulnerability_gate={"max_report_age_days": 120})
    assert evaluate_resource(resource, conf, tmp_path, now=late).messages(POLICY_REPORT_FRESH) == []


def test_unsupported_report_schema(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"SchemaVersion": 1, "Results": []}')
    with pytest.raises(ReportError, match="SchemaVersion 1 unsupported; allowed: 2"):
        load_report(path)
