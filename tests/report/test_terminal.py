"""The rich console summary: content, CI logs (no TTY), NO_COLOR, and markup from user files shown literally."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from rich.console import Console

from preflight.report import ReportValidationError, render_terminal

SGR = re.compile(r"\x1b\[([0-9;]*)m")


def render(doc: dict[str, Any], **console_args: Any) -> str:
    buffer = io.StringIO()
    console_args.setdefault("width", 200)
    render_terminal(doc, Console(file=buffer, **console_args))
    return buffer.getvalue()


def colour_codes(text: str) -> list[str]:
    """SGR parameters that set a colour (30-49, 90-107; 38/48 extended), ignoring bold/dim/reset."""
    found = []
    for params in SGR.findall(text):
        for code in filter(None, params.split(";")):
            number = int(code)
            if 30 <= number <= 49 or 90 <= number <= 107:
                found.append(code)
    return found


def test_sample_shows_every_section(sample: dict[str, Any]) -> None:
    out = render(sample)
    assert "serverless-guardrails/prod" in out and "engine offline" in out and "8 resources" in out
    assert "1 critical" in out and "3 high" in out and "2 medium" in out and "1 low" in out
    for heading in ("Policy findings", "Cost and risk predictions", "Supply chain", "Gate"):
        assert heading in out
    assert "Remediation by lambda-log-retention-range" in out
    assert "+retentionInDays: 90" in out  # the diff body
    assert "Rightsizing: multimodal-ai-inference" in out
    assert '+        autoscaling.knative.dev/minScale: "0"' in out
    assert "$1,527" in out and "$1,180" in out and "$2,104" in out
    assert "Capacity risk" in out and "Change risk" in out and "64%" in out and "(synthetic)" in out
    assert "✘ NOT verified" in out and "2 high, 5 medium, 11 low" in out and "1 high, 1 medium" in out
    assert "GATE OVERRIDE RECORDED" in out and "maria.chen@apexlogic.com" in out
    assert "BLOCK" in out and "stack-budget-total: P90 $2,412/month > budget $2,000/month" in out


def test_findings_are_ordered_by_severity(sample: dict[str, Any]) -> None:
    out = render(sample)
    positions = [out.index(word) for word in ("CRITICAL", "HIGH", "MEDIUM", "LOW")]
    assert positions == sorted(positions)
    # within "high", mandatory before remediate
    assert out.index("data-confidential-cluster-local") < out.index("lambda-log-retention-range")


def test_not_a_tty_prints_plain_text(sample: dict[str, Any]) -> None:
    out = render(sample)  # a StringIO is not a terminal, like a CI log
    assert "\x1b[" not in out
    assert "iam-no-wildcard-actions" in out


def test_tty_has_colour_and_no_color_removes_it(sample: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = render(sample, force_terminal=True)
    assert colour_codes(coloured), "a terminal render should use colour"
    monkeypatch.setenv("NO_COLOR", "1")
    plain = render(sample, force_terminal=True)
    assert colour_codes(plain) == []
    assert "BLOCK" in plain and "iam-no-wildcard-actions" in plain


def test_markup_in_user_text_is_literal(sample: dict[str, Any]) -> None:
    sample["violations"][0]["message"] = "name [bold red]x[/bold red] and [link=https://evil]here[/link]"
    out = render(sample)
    assert "[bold red]x[/bold red]" in out
    assert "[link=https://evil]here[/link]" in out


def test_clean_report_is_short_and_passes(clean: dict[str, Any]) -> None:
    out = render(clean)
    assert "findings: none" in out
    assert "PASS" in out
    for absent in ("Policy findings", "Cost and risk", "Supply chain", "OVERRIDE", "Errors"):
        assert absent not in out


def test_risk_columns_only_when_present(sample: dict[str, Any]) -> None:
    for prediction in sample["predictions"].values():
        prediction.pop("capacity_risk", None)
        prediction.pop("change_risk", None)
    out = render(sample)
    assert "Cost and risk predictions" in out
    assert "Capacity risk" not in out and "Change risk" not in out


def test_errors_are_shown(clean: dict[str, Any]) -> None:
    clean["errors"] = ["guardrails: analyzer did not print a port within 30s"]
    clean["gate"] = {"decision": "block", "reasons": ["1 engine error"]}
    out = render(clean)
    assert "Errors (these block the gate)" in out
    assert "analyzer did not print a port within 30s" in out


def test_default_console_writes_stdout(clean: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    render_terminal(clean)
    assert "serverless-guardrails/local" in capsys.readouterr().out


def test_invalid_document_fails_closed(sample: dict[str, Any]) -> None:
    sample["violations"][0]["severity"] = "urgent"
    with pytest.raises(ReportValidationError, match=r"violations\[0\]\.severity"):
        render(sample)


def test_narrow_ci_log_keeps_messages_readable(sample: dict[str, Any]) -> None:
    out = render(sample, width=80)
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "Statement 0 allows action" in out  # a message line is not folded to a few letters
    assert "Top cost drivers" not in out and "Capacity" in out
    assert "✘ NOT verified" in out and "BLOCK" in out
    wide = render(sample, width=200)
    assert "Enforcement" not in wide or "mandatory" in wide
    assert "Top cost drivers" in wide and "Digest" in wide


def test_gate_is_first_and_last(sample: dict[str, Any]) -> None:
    lines = render(sample, width=120).splitlines()
    first = next(i for i, line in enumerate(lines) if "BLOCK" in line)
    assert first < 6  # after the two header lines
    last_gate = max(i for i, line in enumerate(lines) if line.startswith("╭─ Gate"))
    assert "BLOCK" in lines[last_gate + 1]
    assert all(not line.startswith("╭") for line in lines[last_gate + 1:])  # nothing after the closing gate
    assert last_gate > max(i for i, line in enumerate(lines) if "OVERRIDE RECORDED" in line or "Supply chain" in line)
    assert "Fix first" in "\n".join(lines[first:first + 12])


def test_console_caps_rows_and_verbose_shows_all(sample: dict[str, Any]) -> None:
    template = next(v for v in sample["violations"] if v["severity"] == "low")
    sample["violations"] = [dict(template, message=f"finding number {i:03d}") for i in range(130)]
    out = render(sample)
    assert "finding number 024" in out and "finding number 025" not in out
    assert "… 105 more finding(s): run with --verbose, or see the HTML / SARIF / JSON report." in out
    buffer = io.StringIO()
    render_terminal(sample, Console(file=buffer, width=200), verbose=True)
    assert "finding number 129" in buffer.getvalue() and "more finding(s)" not in buffer.getvalue()
