"""The pull-request comment: summary first, details per severity, escaping of user text."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preflight.report import render_markdown
from preflight.report.markdown import fenced, text


def test_summary_line_comes_first_with_gate_emoji(sample: dict[str, Any], clean: dict[str, Any]) -> None:
    blocked = render_markdown(sample).splitlines()
    assert blocked[0] == "<!-- preflight-report:serverless-guardrails/prod -->"
    assert blocked[1] == "## ⛔ preflight: **BLOCK** — serverless-guardrails/prod"
    passed = render_markdown(clean).splitlines()
    assert passed[1] == "## ✅ preflight: **PASS** — serverless-guardrails/local"
    assert "No policy violations. 🎉" in passed


def test_gate_and_fixes_lead_then_details_collapsed(sample: dict[str, Any]) -> None:
    md = render_markdown(sample)
    assert "| 1 | 3 | 2 | 1 |" in md
    order = [md.index(h) for h in ("preflight: **BLOCK**", "### What to fix first", "### Cost (USD / month)",
                                   "### Supply chain", "<details><summary><b>All findings</b>")]
    assert order == sorted(order)
    # the non-violation gate reasons are listed in full under the decision
    assert md.index("stack-budget-total: P90 $2,412/month &gt; budget $2,000/month") < order[1]
    assert md.count("<details") == md.count("</details>")


def test_fix_rows_count_blockers_and_affected(sample: dict[str, Any]) -> None:
    md = render_markdown(sample)
    row = next(line for line in md.splitlines() if line.startswith("| 🔴 critical | [<code>iam-no-wildcard-actions"))
    cells = re.split(r"(?<!\\)\|", row)[1:-1]
    assert len(cells) == 5
    assert cells[2].strip() == "**1** ⛔"
    assert "1: document-embedder-inline (services/functions.yaml:1)" in cells[3]
    assert "Replace the wildcard" in cells[4]
    assert "(https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege)" in row


def test_finding_rows_carry_location_and_peers(sample: dict[str, Any]) -> None:
    md = render_markdown(sample)
    row = next(line for line in md.splitlines() if "iam-no-wildcard-actions</code>](" in line and "Statement 0" in line)
    cells = re.split(r"(?<!\\)\|", row)[1:-1]
    assert len(cells) == 7
    assert "<code>services/functions.yaml:1</code>" in cells[4]
    assert "<code>CKV_AWS_355</code>" in cells[6]


def test_costs_contributions_and_patches(sample: dict[str, Any]) -> None:
    md = render_markdown(sample)
    assert "| multimodal-ai-inference | knative | $1,180 | **$1,527** | $2,104 | model | 🟡 31% | 🟢 12% ¹ |" in md
    assert "| document-embedder | lambda | $212 | **$286** | $308 | history | 🔴 64% | – |" in md
    assert "¹ change-risk model trained on synthetic data" in md
    assert "<details><summary>Top contributions: <b>multimodal-ai-inference</b></summary>" in md
    assert "| <code>requests_per_month</code> | +0.610 |" in md
    assert "**Capacity-risk drivers**" in md and "**Change-risk drivers**" in md
    assert "bias" not in md  # the base value is not a driver
    assert "```diff\n--- services/multimodal-ai-inference.yaml" in md
    assert '+        autoscaling.knative.dev/minScale: "0"\n' in md
    assert "```diff\n--- document-embedder-logs (declared)" in md


def test_supply_chain_and_override(sample: dict[str, Any]) -> None:
    md = render_markdown(sample)
    assert "### Supply chain" in md
    assert "❌ **not verified**" in md and "✅ verified" in md
    assert "> [!WARNING]\n> **Gate override recorded**" in md
    assert "<code>maria.chen&#64;apexlogic.com</code>" in md


def test_user_text_cannot_inject_markup(sample: dict[str, Any]) -> None:
    sample["violations"][0]["message"] = (
        "a | b <img src=x onerror=alert(1)> [click](https://evil.example) @security-team `x` *y*\nnext"
    )
    md = render_markdown(sample)
    row = next(line for line in md.splitlines() if "onerror" in line)
    assert "<img" not in md
    assert "&lt;img src=x onerror=alert(1)&gt;" in row
    assert r"a \| b" in row
    assert r"\[click\](https://evil.example)" in row
    assert "@security-team" not in md and "&#64;security-team" in row
    assert r"\`x\` \*y\*<br>next" in row


def test_fence_is_longer_than_backticks_in_the_diff(sample: dict[str, Any]) -> None:
    sample["remediations"][0]["diff"] += "+note: ```` not the end\n"
    md = render_markdown(sample)
    assert "`````diff\n--- document-embedder-logs (declared)" in md
    assert "+note: ```` not the end\n`````\n" in md


def test_long_reports_fit_and_every_cut_says_what_is_left(sample: dict[str, Any]) -> None:
    template = sample["violations"][-2]
    sample["violations"] = [dict(template, message=f"finding {i} " + "x" * 400) for i in range(400)]
    md = render_markdown(sample, limit=20_000)
    assert len(md) <= 20_000
    assert md.startswith("<!-- preflight-report:")
    assert md.count("<details") == md.count("</details>")
    shown = md.count("| advisory |")
    assert 0 < shown < 400
    assert f"_… {400 - shown} more findings in the HTML/SARIF artifact._" in md
    assert md.index("### What to fix first") < md.index("### Cost") < md.index("All findings")


def test_related_controls_merge_into_one_finding(sample: dict[str, Any]) -> None:
    first = sample["violations"][0]
    for policy in ("dc-confidential-cluster-local", "kn-visibility-cluster-local"):
        sample["violations"].append(dict(first, policy=policy, severity="high", enforcement="mandatory",
                                         resource_urn="urn:pulumi:prod::p::knative:Service::svc", resource_name="svc",
                                         file="services/svc.yaml", line=3, message=f"{policy} wants cluster-local"))
    md = render_markdown(sample)
    merged = [line for line in md.splitlines() if "<code>dc-confidential-cluster-local</code>" in line]
    assert len(merged) == 2  # one fix row, one finding row
    assert all("<code>kn-visibility-cluster-local</code>" in line for line in merged)
    assert "**2** ⛔" in merged[0]  # the one fix clears both blockers


@given(st.text(max_size=200))
def test_escaped_text_stays_in_its_cell(value: str) -> None:
    escaped = text(value)
    assert "\n" not in escaped and "\r" not in escaped
    assert "<" not in escaped.replace("<br>", "")
    assert re.search(r"(?<!\\)\|", escaped) is None
    assert "@" not in escaped


@pytest.mark.parametrize("body", ["plain", "has ``` three", "has ````` five"])
def test_fenced_blocks_close_once(body: str) -> None:
    block = fenced(body, "diff")
    fence = block.split("diff", 1)[0]
    assert block.endswith("\n" + fence)
    assert fence not in body


def test_locations_link_to_the_line_when_the_repository_is_known(sample: dict[str, Any]) -> None:
    base = "https://github.com/apexlogic/guardrails/blob/0123abc/"
    md = render_markdown(sample, source_base=base)
    assert f"[<code>services/functions.yaml:38</code>]({base}services/functions.yaml#L38)" in md
    assert "<code>(stack)</code>" in md and f"{base}(stack)" not in md
    assert "](https://github.com/apexlogic" not in render_markdown(sample)
