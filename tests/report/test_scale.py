"""Reports of real plans at scale (benchmarks/generate.py through the real `preflight preview`): the PR comment
stays within GitHub's budget and valid, the console stays readable and bounded at every common width."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from rich.console import Console

from preflight.report import render_markdown, render_terminal, view
from preflight.report.markdown import GITHUB_COMMENT_LIMIT
from preflight.report.terminal import MIN_TEXT_COLUMN, Layout

WIDTHS = [60, 61, 72, 80, 99, 100, 101, 110, 119, 120, 121, 130, 139, 140, 160, 200, 250]
# Without --verbose the console is a summary: its length does not grow with the plan.
MAX_LINES = 520
TAGS = ("details", "summary", "sub", "code", "b")


def balanced(md: str) -> None:
    for tag in TAGS:
        opened = len(re.findall(rf"<{tag}[ >]", md))
        assert opened == md.count(f"</{tag}>"), tag
    depth = 0
    for match in re.finditer(r"<(/?)details[ >]", md):  # never closed before it is opened
        depth += -1 if match.group(1) else 1
        assert depth >= 0
    assert depth == 0


@pytest.mark.parametrize("services", [200, 1000])
def test_pr_comment_fits_and_is_valid_for_large_plans(generated_report: Any, services: int) -> None:
    doc = generated_report(services)
    md = render_markdown(doc)
    assert len(md) <= GITHUB_COMMENT_LIMIT
    balanced(md)
    assert md.startswith("<!-- preflight-report:serverless-guardrails/prod -->\n## ⛔ preflight: **BLOCK**")
    headings = ["### What to fix first", "### Cost (USD / month)", "### Supply chain", "<b>All findings</b>"]
    positions = [md.index(h) for h in headings]
    assert positions == sorted(positions)
    # every fix is listed (they are few), each with its count and "and N more" affected services
    fixes = view.fixes(doc)
    assert len(fixes) < 60
    assert f"({len(fixes)} fixes for {len(view.merged_findings(doc))} findings)" in md
    assert re.search(r"\| \*\*\d+\*\* ⛔ \| \d+: .* and \d+ more \|", md)
    # sections that could not show everything say how much is left, and where
    findings = len(view.merged_findings(doc))
    shown = len(re.findall(r"^\| .* \| (mandatory|advisory|remediate) \|", md, flags=re.MULTILINE))
    assert f"_… {findings - shown} more findings in the HTML/SARIF artifact._" in md
    assert re.search(r"_… \d+ more artifacts in the HTML/SARIF artifact\._", md)


def test_gate_reasons_are_one_per_control_not_per_violation(generated_report: Any) -> None:
    doc = generated_report(200)
    mandatory = {v["policy"] for v in doc["violations"] if v["enforcement"] == "mandatory"}
    reasons = [r for r in doc["gate"]["reasons"] if r.startswith("mandatory policy ")]
    assert len(reasons) == len(mandatory) and len(reasons) < 30
    assert all(re.search(r": \d+ violation\(s\) on ", r) for r in reasons)


def test_seed_gate_reasons_are_grouped_into_fixes(generated_report: Any) -> None:
    doc = generated_report(0)
    summary = view.gate_summary(doc)
    # 9 mandatory findings on prod (7 + pod.confidential-egress and pod.restricted-capabilities) are 6 fixes:
    # the two cluster-local findings are one change; sc-vuln-gate and sc-artifact-signed are one fix each for both
    # services.
    assert not summary.passed and summary.blockers == 9 and summary.blocking_fixes == 6
    merged = next(f for f in view.fixes(doc) if "dc-confidential-cluster-local" in f.policies)
    assert merged.policies == ["dc-confidential-cluster-local", "kn-visibility-cluster-local"]
    # no absolute path of the machine, no Python literal in what a reviewer reads
    for finding in view.merged_findings(doc):
        assert "/work/" not in finding.detail and "/home/" not in finding.detail
        assert not re.search(r"\bNone\b", finding.detail)


def render_at(doc: dict[str, Any], width: int) -> list[str]:
    buffer = io.StringIO()
    render_terminal(doc, Console(file=buffer, width=width))
    return buffer.getvalue().splitlines()


@pytest.mark.parametrize("services", [0, 200])
def test_terminal_layout_at_every_width(generated_report: Any, services: int) -> None:
    doc = generated_report(services)
    first = view.merged_findings(doc)[0]
    # the longest run of whole words up to 28 characters: on one line unless the column is narrower than that
    words = first.detail.split(" ")
    fragment = " ".join(words[: max(n for n in range(1, len(words) + 1) if len(" ".join(words[:n])) <= 28)])
    assert len(fragment) >= 10
    for width in WIDTHS:
        lines = render_at(doc, width)
        assert max(len(line) for line in lines) <= width, width
        assert len(lines) <= MAX_LINES, (width, len(lines))
        layout = Layout.for_width(width, max(len(v["policy"]) for v in doc["violations"]))
        if layout.table:
            assert layout.text >= MIN_TEXT_COLUMN and layout.target >= 20 and layout.control >= 16, width
            assert layout.severity + layout.control + layout.target + layout.text + 9 <= width
        # the message of the worst finding is readable: its first words sit on one line
        assert any(fragment in line for line in lines), (width, fragment)
        assert "CRITICAL" in "\n".join(lines) or "HIGH" in "\n".join(lines)  # severities are not cut to "CRIT…"
        gate_lines = [i for i, line in enumerate(lines) if "BLOCK" in line]
        assert gate_lines[0] < 8 and gate_lines[-1] > len(lines) - 6, width


def test_terminal_verbose_lists_everything(generated_report: Any) -> None:
    doc = generated_report(200)
    buffer = io.StringIO()
    render_terminal(doc, Console(file=buffer, width=250), verbose=True)
    out = buffer.getvalue()
    assert "more finding(s)" not in out and "more fix(es)" not in out
    assert all(name in out for name in list(doc["predictions"])[:50])
