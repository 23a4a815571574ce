"""Markdown for a pull-request comment (GitHub-flavoured).

Text from user files is escaped for both Markdown and HTML: GitHub renders inline HTML in comments, and a message
such as `[click](https://evil)` or `<img src=x>` must show as typed, not become a link or a tag. `@` is escaped
so a message cannot ping people. Diffs go in fenced blocks whose fence is longer than any backtick run inside.
"""

from __future__ import annotations

import html
import re
from typing import Any

from preflight.report import view
from preflight.report.prepare import prepare_report

SEVERITY_ICON = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵"}
OPEN_BY_DEFAULT = {"critical", "high"}
# GitHub rejects comments over 65,536 characters; keep room for the note that says what was cut.
GITHUB_COMMENT_LIMIT = 65_000
MAX_ROWS_PER_SEVERITY = 60
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]{}|~])")


def marker(doc: dict[str, Any]) -> str:
    """Hidden first line so CI can find and update its previous comment instead of adding a new one."""
    return f"<!-- preflight-report:{html.escape(doc['project'])}/{html.escape(doc['stack'])} -->"


def text(value: Any) -> str:
    """Escape user text for a Markdown paragraph or table cell (one line)."""
    escaped = html.escape(str(value), quote=False)
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", escaped)
    escaped = escaped.replace("@", "&#64;")
    return re.sub(r"\r\n|\r|\n", "<br>", escaped)  # CommonMark ends a line (and a table row) at \r too


def code(value: Any) -> str:
    """Inline code in a table cell; `<code>` with HTML escaping because backticks cannot hold a `|` in a cell."""
    return "<code>" + html.escape(str(value), quote=False).replace("|", "&#124;").replace("@", "&#64;") + "</code>"


def fenced(body: str, language: str = "") -> str:
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{body.rstrip(chr(10))}\n{fence}"


def _table(headers: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    align = align or ["---"] * len(headers)
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _summary(doc: dict[str, Any]) -> list[str]:
    gate = doc["gate"]
    passed = gate["decision"] == "pass"
    emoji = "✅" if passed else "⛔"
    title = f"## {emoji} preflight: **{'PASS' if passed else 'BLOCK'}** — {text(doc['project'])}/{text(doc['stack'])}"
    counts = view.summary_counts(doc)
    lines = [marker(doc), title, ""]
    lines.append(
        f"{code(doc['environment'])} environment · {text(doc['engine'])} engine · "
        f"{doc['resources']['count']} resources · generated {text(doc['generated_at'])}"
    )
    lines.append("")
    lines.append(
        _table(
            [f"{SEVERITY_ICON[s]} {s}" for s in view.SEVERITIES],
            [[str(counts[s]) for s in view.SEVERITIES]],
            [":---:"] * len(view.SEVERITIES),
        )
    )
    return lines


def _overrides(doc: dict[str, Any]) -> list[str]:
    if not doc["overrides"]:
        return []
    lines = ["", "> [!WARNING]", "> **Gate override recorded**"]
    for override in doc["overrides"]:
        lines.append(f"> - {text(override['when'])} by {code(override['who'])}: {text(override['reason'])}")
    return lines


def _gate(doc: dict[str, Any]) -> list[str]:
    reasons = doc["gate"]["reasons"]
    if not reasons:
        return []
    return ["", "**Gate reasons**", "", *(f"- {text(reason)}" for reason in reasons)]


def _errors(doc: dict[str, Any]) -> list[str]:
    if not doc["errors"]:
        return []
    return ["", "> [!CAUTION]", "> **Errors (these block the gate)**", *(f"> - {text(e)}" for e in doc["errors"])]


def _violation_row(violation: dict[str, Any]) -> list[str]:
    policy = code(violation["policy"])
    if violation.get("url"):
        policy = f"[{policy}]({html.escape(violation['url'], quote=True).replace(')', '%29')})"
    message = text(violation["message"])
    if violation.get("remediation_steps"):
        message += f"<br>**Fix:** {text(violation['remediation_steps'])}"
    extras = [code(p) for p in violation.get("peer_ids") or []]
    if violation.get("framework"):
        extras.insert(0, f"**{text(violation['framework'])}**")
    return [
        policy,
        text(violation["enforcement"]),
        text(view.resource_label(violation)),
        code(view.location(violation)),
        message,
        " ".join(extras) or "–",
    ]


def _findings(doc: dict[str, Any]) -> list[str]:
    grouped = view.violations_by_severity(doc)
    if not grouped:
        return ["", "No policy violations. 🎉"]
    lines = ["", "### Policy findings"]
    for severity, violations in grouped.items():
        shown = violations[:MAX_ROWS_PER_SEVERITY]
        is_open = " open" if severity in OPEN_BY_DEFAULT else ""
        lines += [
            "",
            f"<details{is_open}><summary>{SEVERITY_ICON[severity]} <b>{severity.capitalize()}</b> "
            f"({len(violations)})</summary>",
            "",
            _table(
                ["Policy", "Enforcement", "Resource", "Location", "Message", "Peers / framework"],
                [_violation_row(v) for v in shown],
            ),
        ]
        if len(violations) > len(shown):
            lines += ["", f"_…and {len(violations) - len(shown)} more; see the SARIF or HTML report._"]
        lines += ["", "</details>"]
    return lines


def _remediations(doc: dict[str, Any]) -> list[str]:
    if not doc["remediations"]:
        return []
    lines = ["", f"<details><summary>🛠️ <b>Automatic remediations</b> ({len(doc['remediations'])})</summary>"]
    for remediation in doc["remediations"]:
        resource = remediation["resource_urn"].rsplit("::", 1)[-1]
        lines += ["", f"{code(remediation['policy'])} on {text(resource)}", "", fenced(remediation["diff"], "diff")]
    return [*lines, "", "</details>"]


def _risk(prediction: dict[str, Any], key: str) -> str:
    probability = view.risk_probability(prediction, key)
    if probability is None:
        return "–"
    icon = "🔴" if probability >= 0.5 else "🟡" if probability >= 0.2 else "🟢"
    synthetic = " ¹" if (prediction.get(key) or {}).get("synthetic_training") else ""
    return f"{icon} {view.percent(probability)}{synthetic}"


def _bar(value: float, largest: float, width: int = 12) -> str:
    cells = max(1, round(abs(value) / largest * width)) if largest else 0
    return ("🟥" if value > 0 else "🟩") * min(cells, width)


def _predictions(doc: dict[str, Any]) -> list[str]:
    predictions = doc["predictions"]
    if not predictions:
        return []
    with_capacity = any(p.get("capacity_risk") for p in predictions.values())
    with_change = any(p.get("change_risk") for p in predictions.values())
    headers = ["Service", "Kind", "P10", "P50", "P90", "Workload from"]
    align = ["---", "---", "---:", "---:", "---:", "---"]
    if with_capacity:
        headers.append("Capacity risk")
        align.append("---:")
    if with_change:
        headers.append("Change risk")
        align.append("---:")
    rows = []
    for service in sorted(predictions):
        prediction = predictions[service]
        band = prediction["cost_usd_month"]
        row = [
            text(service),
            text(prediction["kind"]),
            view.usd(band["p10"]),
            f"**{view.usd(band['p50'])}**",
            view.usd(band["p90"]),
            text((prediction.get("workload") or {}).get("source", "–")),
        ]
        if with_capacity:
            row.append(_risk(prediction, "capacity_risk"))
        if with_change:
            row.append(_risk(prediction, "change_risk"))
        rows.append(row)
    lines = ["", "### Cost (USD / month) and risk", "", _table(headers, rows, align)]
    if any((p.get("change_risk") or {}).get("synthetic_training") for p in predictions.values()):
        lines += ["", "<sub>¹ change-risk model trained on synthetic data; treat as a hint.</sub>"]
    lines += _contributions(predictions)
    lines += _recommendations(predictions)
    return lines


CONTRIBUTION_SETS = (
    ("contributions", "Cost drivers"),
    ("capacity_risk", "Capacity-risk drivers"),
    ("change_risk", "Change-risk drivers"),
)


def _contribution_table(contributions: dict[str, float] | None) -> str | None:
    top = view.top_contributions(contributions)
    if not top:
        return None
    largest = max(abs(c.value) for c in top)
    rows = [[code(c.feature), f"{c.value:+.3f}", _bar(c.value, largest)] for c in top]
    return _table(["Feature", "Contribution", ""], rows, ["---", "---:", "---"])


def _contributions(predictions: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for service in sorted(predictions):
        prediction = predictions[service]
        tables: list[str] = []
        for key, title in CONTRIBUTION_SETS:
            source = prediction.get(key) or {}
            table = _contribution_table(source if key == "contributions" else source.get("contributions"))
            if table:
                tables += ["", f"**{title}**", "", table]
        if not tables:
            continue
        lines += [
            "",
            f"<details><summary>Top contributions: <b>{text(service)}</b></summary>",
            *tables,
            "",
            "<sub>Per-feature contributions (XGBoost <code>pred_contribs</code>, in the model's output units): "
            "🟥 pushes the prediction up, 🟩 pulls it down.</sub>",
            "",
            "</details>",
        ]
    return lines


def _recommendations(predictions: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for service in sorted(predictions):
        recommendation = predictions[service].get("recommendation") or {}
        if not recommendation.get("summary") and not recommendation.get("patch"):
            continue
        lines += ["", f"<details><summary>💡 Rightsizing: <b>{text(service)}</b></summary>", ""]
        if recommendation.get("summary"):
            lines += [text(recommendation["summary"]), ""]
        if recommendation.get("patch"):
            lines += [fenced(recommendation["patch"], "diff"), ""]
        lines.append("</details>")
    return lines


def _supply_chain(doc: dict[str, Any]) -> list[str]:
    if not doc["supply_chain"]:
        return []
    rows = []
    for entry in doc["supply_chain"]:
        if entry["verified"]:
            status = "✅ verified"
            detail = f"{text(entry.get('signer') or '?')}<br><sub>{text(entry.get('issuer') or '?')}</sub>"
        else:
            status = "❌ **not verified**"
            detail = text(entry.get("reason") or "no reason given")
        digest = entry.get("digest")
        rows.append(
            [
                text(entry["service"]),
                code(entry["artifact"]),
                text(entry["kind"]),
                status,
                detail,
                code(digest[:19] + "…") if digest else "–",
                text(view.vulnerability_summary(entry)),
            ]
        )
    headers = ["Service", "Artifact", "Kind", "Signature", "Signer / reason", "Digest", "Vulnerabilities"]
    return ["", "### Supply chain", "", _table(headers, rows)]


def _fit(body: str, limit: int) -> str:
    if len(body) <= limit:
        return body
    note = "\n\n_Report truncated to fit a GitHub comment; see the HTML or SARIF artifact for everything._\n"
    cut = body.rfind("\n", 0, limit - len(note))
    return body[: max(cut, 0)] + note


def render_markdown(doc: Any, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """The pull-request comment: summary line with the gate emoji first, details collapsed below."""
    report = prepare_report(doc)
    lines = [
        *_summary(report),
        *_overrides(report),
        *_gate(report),
        *_errors(report),
        *_findings(report),
        *_remediations(report),
        *_predictions(report),
        *_supply_chain(report),
    ]
    return _fit("\n".join(lines) + "\n", limit)
