"""Markdown for a pull-request comment (GitHub-flavoured).

Text from user files is escaped for both Markdown and HTML: GitHub renders inline HTML in comments, and a message
such as `[click](https://evil)` or `<img src=x>` must show as typed, not become a link or a tag. `@` is escaped
so a message cannot ping people. Diffs go in fenced blocks whose fence is longer than any backtick run inside.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from preflight.report import view
from preflight.report.compare import line_item_moves, signed_money
from preflight.report.links import location_url
from preflight.report.observed import observed_sentence
from preflight.report.prepare import prepare_report

SEVERITY_ICON = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵"}
# GitHub rejects comments over 65,536 characters. The budget stays well under it, because the comment is built
# section by section and each section is cut at a whole row (never inside a tag) with a line saying what is left.
GITHUB_COMMENT_LIMIT = 60_000
ARTIFACT = "the HTML/SARIF artifact"
MAX_LISTED = 10  # gate reasons / engine errors listed in full in the summary
# Sections are filled in priority order; a section may take at most this share of what is left, so a huge
# fix list cannot crowd out cost and supply chain.
SECTION_SHARE = {"fixes": 0.5, "cost_diff": 0.4, "new_findings": 0.5, "cost": 0.4, "observed": 0.4, "supply_chain": 0.5,
                 "findings": 0.8, "remediations": 0.5, "contributions": 1.0}
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


@dataclass
class Section:
    """A part of the comment: fixed head and tail around items, cut at a whole item when the budget runs out."""

    name: str
    head: str
    items: list[str] = field(default_factory=list)
    tail: str = ""
    what: str = "more"  # "N <what> in the HTML/SARIF artifact"

    def more_line(self, hidden: int) -> str:
        return f"\n\n_… {hidden} more {self.what} in {ARTIFACT}._"

    def minimal(self) -> int:
        return len(self.head) + len(self.tail) + len(self.more_line(len(self.items)))

    def render(self, allowance: int) -> str:
        out = [self.head]
        used = len(self.head) + len(self.tail)
        shown = 0
        for item in self.items:
            hidden_after = len(self.items) - shown - 1
            reserve = len(self.more_line(hidden_after)) if hidden_after else 0
            if used + len(item) + reserve > allowance:
                break
            out.append(item)
            used += len(item)
            shown += 1
        if shown < len(self.items):
            out.append(self.more_line(len(self.items) - shown))
        out.append(self.tail)
        return "".join(out)


def _summary(doc: dict[str, Any]) -> str:
    summary = view.gate_summary(doc)
    emoji = "✅" if summary.passed else "⛔"
    title = f"## {emoji} preflight: **{summary.decision}** — {text(doc['project'])}/{text(doc['stack'])}"
    counts = view.summary_counts(doc)
    lines = [marker(doc), title, "", f"**{text(summary.sentence())}**"]
    lines += [f"- {text(reason)}" for reason in summary.other_reasons[:MAX_LISTED]]
    lines += _more_listed(len(summary.other_reasons), "reasons")
    lines += [
        "",
        f"{code(doc['environment'])} environment · {text(doc['engine'])} engine · "
        f"{doc['resources']['count']} resources · generated {text(doc['generated_at'])}",
        "",
        _table([f"{SEVERITY_ICON[s]} {s}" for s in view.SEVERITIES], [[str(counts[s]) for s in view.SEVERITIES]],
               [":---:"] * len(view.SEVERITIES)),
    ]
    lines += _overrides(doc)
    lines += _errors(doc)
    return "\n".join(lines)


def _overrides(doc: dict[str, Any]) -> list[str]:
    if not doc["overrides"]:
        return []
    lines = ["", "> [!WARNING]", "> **Gate override recorded**"]
    for override in doc["overrides"]:
        control = f" {code(override['control'])} (downgraded to advisory)" if override.get("control") else ""
        lines.append(f"> - {text(override['when'])} by {code(override['who'])}{control}: {text(override['reason'])}")
    return lines


def _errors(doc: dict[str, Any]) -> list[str]:
    if not doc["errors"]:
        return []
    errors = doc["errors"][:MAX_LISTED]
    lines = ["", "> [!CAUTION]", "> **Errors (these block the gate)**", *(f"> - {text(e)}" for e in errors)]
    return lines + [f"> {line}" for line in _more_listed(len(doc["errors"]), "errors") if line]


def _more_listed(total: int, what: str) -> list[str]:
    return [f"- _… {total - MAX_LISTED} more {what} in {ARTIFACT}._"] if total > MAX_LISTED else []


def _policy_link(policy: str, url: str | None) -> str:
    if not url:
        return code(policy)
    return f"[{code(policy)}]({html.escape(url, quote=True).replace(')', '%29')})"


def _fixes(doc: dict[str, Any]) -> Section:
    all_fixes = view.fixes(doc)
    if not all_fixes:
        return Section("fixes", "\n\n### What to fix first\n\nNo policy violations. 🎉")
    head = (f"\n\n### What to fix first ({len(all_fixes)} fixes for {len(view.merged_findings(doc))} findings)\n\n"
            "| Severity | Control(s) | Clears | Affected | Fix |\n|---|---|---:|---|---|")
    rows = []
    for fix in all_fixes:
        controls = "<br>".join(_policy_link(p, fix.url) for p in fix.policies)
        clears = f"**{fix.blockers}** ⛔" if fix.blockers else "–"
        rows.append(f"\n| {SEVERITY_ICON[fix.severity]} {fix.severity} | {controls} | {clears} | "
                    f"{fix.count}: {text(fix.targets_text())} | {text(fix.steps)} |")
    return Section("fixes", head, rows, what="fixes")


def _cost(doc: dict[str, Any]) -> Section:
    predictions = doc["predictions"]
    if not predictions:
        return Section("cost", "")
    totals = {q: sum(p["cost_usd_month"][q] for p in predictions.values()) for q in ("p10", "p50", "p90")}
    rate = view.exchange(doc)

    def money(amount: float) -> str:
        return view.money(amount, rate)

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
    head = (
        f"\n\n### Cost ({rate.code} / month) and risk\n\n{view.currency_sentence(doc)} "
        f"Stack total: P10 {money(totals['p10'])} · "
        f"**P50 {money(totals['p50'])}** · P90 {money(totals['p90'])} over {len(predictions)} services "
        "(quantiles do not add exactly; a guide). Most expensive first (P90).\n\n"
        + _table(headers, [], align)
    )
    rows = []
    for service in sorted(predictions, key=lambda name: (-predictions[name]["cost_usd_month"]["p90"], name)):
        prediction = predictions[service]
        band = prediction["cost_usd_month"]
        row = [text(service), text(prediction["kind"]), money(band["p10"]), f"**{money(band['p50'])}**",
               money(band["p90"]), text((prediction.get("workload") or {}).get("source", "–"))]
        if with_capacity:
            row.append(_risk(prediction, "capacity_risk"))
        if with_change:
            row.append(_risk(prediction, "change_risk"))
        rows.append("\n| " + " | ".join(row) + " |")
    tail = ""
    if with_change and any((p.get("change_risk") or {}).get("synthetic_training") for p in predictions.values()):
        tail = "\n\n<sub>¹ change-risk model trained on synthetic data; treat as a hint.</sub>"
    # Which provisioned-concurrency utilisation each Lambda cost used (observed, or the documented assumption)
    pcs = [f"{text(name)}: {p['provisioned_concurrency']['units']} provisioned, "
           f"{text(p['provisioned_concurrency']['source'])}" for name, p in sorted(predictions.items())
           if p.get("provisioned_concurrency")]
    if pcs:
        tail += "\n\n<sub>Provisioned concurrency: " + "; ".join(pcs) + ".</sub>"
    return Section("cost", head, rows, tail, what="services")


def _cost_diff(doc: dict[str, Any]) -> Section:
    comparison = doc.get("comparison")
    if not comparison:
        return Section("cost_diff", "")
    total = comparison["cost"]["total"]
    rate = view.exchange(doc)

    def money(amount: float) -> str:
        return view.money(amount, rate)

    def signed(amount: float) -> str:
        return signed_money(amount, rate)

    moved = [s for s in comparison["cost"]["services"] if s["change"] != "unchanged"]
    head = (f"\n\n### Cost diff vs {code(comparison['base']['source'])} ({rate.code} / month)\n\n"
            f"Stack P50 {money(total['base']['p50'])} → **{money(total['head']['p50'])}** "
            f"(**{signed(total['delta']['p50'])}**; P10 {signed(total['delta']['p10'])}, "
            f"P90 {signed(total['delta']['p90'])}); {len(moved)} service(s) changed, largest move first.")
    if not moved:
        return Section("cost_diff", head + "\n\nNo service's cost changed.")
    head += "\n\n" + _table(["Service", "Change", "P50 before", "P50 after", "Δ P50", "Δ P90", "Moved most"], [],
                             ["---", "---", "---:", "---:", "---:", "---:", "---"])
    rows = []
    for entry in moved:
        before = money(entry["base"]["p50"]) if entry["base"] else "–"
        after = money(entry["head"]["p50"]) if entry["head"] else "–"
        rows.append(f"\n| {text(entry['service'])} | {entry['change']} | {before} | {after} | "
                    f"**{signed(entry['delta']['p50'])}** | {signed(entry['delta']['p90'])} | "
                    f"{text(line_item_moves(entry, rate))} |")
    return Section("cost_diff", head, rows, what="services")


def _new_findings(doc: dict[str, Any], base: str | None) -> Section:
    comparison = doc.get("comparison")
    if not comparison:
        return Section("new_findings", "")
    findings = comparison["findings"]
    head = (f"\n\n### New findings vs {code(comparison['base']['source'])} ({len(findings['new'])} new, "
            f"{len(findings['resolved'])} resolved, {findings['unchanged']} already there)")
    if not findings["new"]:
        return Section("new_findings", head + "\n\nThis change adds no finding.")
    head += "\n\n| Severity | Control | Enforcement | Resource | Location |\n|---|---|---|---|---|"
    rows = [f"\n| {SEVERITY_ICON[f['severity']]} {f['severity']} | {code(f['policy'])} | {text(f['enforcement'])} | "
            f"{text(f['resource_name'] or 'stack')} | {_location(f, base)} |" for f in findings["new"]]
    return Section("new_findings", head, rows, what="new findings")


def _band_cell(band: dict[str, Any] | None) -> str:
    if not band:
        return "–"
    flag = " ⚠" if band.get("drifted") else ""
    return f"{view.percent(band['coverage'])} in P10–P90, ×{band['bias']:.2f}{flag}"


def _observed(doc: dict[str, Any]) -> Section:
    observed = doc.get("observed")
    if not observed:
        return Section("observed", "")
    head = (f"\n\n### Observed vs predicted\n\n{text(observed_sentence(observed))}. Coverage: share of observed "
            "days inside the predicted P10–P90 (about 80 % when calibrated); bias: observed median ÷ predicted P50.\n\n"
            + _table(["Service", "Status", "Requests", "Duration", "Cost", "Advice"], []))
    rows = []
    for name, entry in observed["services"].items():
        bands = entry["bands"]
        rows.append(f"\n| {text(name)} | {entry['status']} | {_band_cell(bands.get('requests_per_month'))} | "
                    f"{_band_cell(bands.get('mean_duration_ms'))} | {_band_cell(bands.get('cost_usd_month'))} | "
                    f"{text(entry.get('advice') or entry.get('reason') or '–')} |")
    rate = view.exchange(doc)
    for key, label in (("anomalies", "⚠ anomaly"), ("idle", "💤 idle"), ("proposals", "🔧 proposal")):
        for item in observed[key]:
            saving = (f" (saves {view.money(item['saving_usd_month'], rate)}/month)" if item.get("saving_usd_month")
                      else "")
            rows.append(f"\n| {text(item['service'])} | {label} | {text(item['text'] + saving)} | | | |")
    return Section("observed", head, rows, what="observations")


def _supply_chain(doc: dict[str, Any]) -> Section:
    entries = sorted(doc["supply_chain"], key=lambda e: (e["verified"], e["service"], e["artifact"]))
    if not entries:
        return Section("supply_chain", "")
    unverified = sum(1 for e in entries if not e["verified"])
    headers = ["Service", "Artifact", "Kind", "Signature", "Signer / reason", "Digest", "Vulnerabilities"]
    head = (f"\n\n### Supply chain ({unverified} of {len(entries)} artifacts not verified)\n\n"
            + _table(headers, []))
    rows = []
    for entry in entries:
        if entry["verified"]:
            status = "✅ verified"
            detail = f"{text(entry.get('signer') or '?')}<br><sub>{text(entry.get('issuer') or '?')}</sub>"
        else:
            status = "❌ **not verified**"
            detail = text(entry.get("reason") or "no reason given")
        digest = entry.get("digest")
        cells = [text(entry["service"]), code(entry["artifact"]), text(entry["kind"]), status, detail,
                 code(digest[:19] + "…") if digest else "–", text(view.vulnerability_summary(entry))]
        rows.append("\n| " + " | ".join(cells) + " |")
    return Section("supply_chain", head, rows, what="artifacts")


def _location(item: dict[str, Any], base: str | None) -> str:
    """`services/x.yaml:12` as code, linked to that line in the repository when its URL is known."""
    label = code(view.location(item))
    url = location_url(base, item.get("file"), item.get("line"))
    return f"[{label}]({html.escape(url, quote=True).replace(')', '%29')})" if url else label


def _findings(doc: dict[str, Any], base: str | None) -> Section:
    findings = view.merged_findings(doc)
    if not findings:
        return Section("findings", "")
    head = (f"\n\n<details><summary><b>All findings</b> ({len(findings)}, worst first)</summary>\n\n"
            "| Severity | Control(s) | Enforcement | Resource | Location | Message | Peers / framework |\n"
            "|---|---|---|---|---|---|---|")
    rows = []
    for finding in findings:
        controls = "<br>".join(_policy_link(p, finding.url) for p in finding.policies)
        extras = [code(p) for p in finding.peer_ids]
        if finding.framework:
            extras.insert(0, f"**{text(finding.framework)}**")
        cells = [f"{SEVERITY_ICON[finding.severity]} {finding.severity}", controls, text(finding.enforcement),
                 text(view.resource_label(finding.first)), _location(finding.first, base), text(finding.detail),
                 " ".join(extras) or "–"]
        rows.append("\n| " + " | ".join(cells) + " |")
    return Section("findings", head, rows, "\n\n</details>", what="findings")


def _remediations(doc: dict[str, Any]) -> Section:
    if not doc["remediations"]:
        return Section("remediations", "")
    head = f"\n\n<details><summary>🛠️ <b>Automatic remediations</b> ({len(doc['remediations'])})</summary>"
    items = []
    for remediation in doc["remediations"]:
        resource = remediation["resource_urn"].rsplit("::", 1)[-1]
        items.append(f"\n\n{code(remediation['policy'])} on {text(resource)}\n\n{fenced(remediation['diff'], 'diff')}")
    return Section("remediations", head, items, "\n\n</details>", what="remediations")


def _explanations(doc: dict[str, Any]) -> Section:
    """Per-service drivers and rightsizing, each its own collapsed block."""
    predictions = doc["predictions"]
    items = _recommendations(predictions) + _contributions(predictions)
    return Section("contributions", "", items, what="per-service explanations")


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
    items: list[str] = []
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
        items.append("\n".join([
            "",
            "",
            f"<details><summary>Top contributions: <b>{text(service)}</b></summary>",
            *tables,
            "",
            "<sub>Per-feature contributions (XGBoost <code>pred_contribs</code>, in the model's output units): "
            "🟥 pushes the prediction up, 🟩 pulls it down.</sub>",
            "",
            "</details>",
        ]))
    return items


def _recommendations(predictions: dict[str, Any]) -> list[str]:
    items: list[str] = []
    for service in sorted(predictions):
        recommendation = predictions[service].get("recommendation") or {}
        if not recommendation.get("summary") and not recommendation.get("patch"):
            continue
        lines = ["", "", f"<details><summary>💡 Rightsizing: <b>{text(service)}</b></summary>", ""]
        if recommendation.get("summary"):
            lines += [text(recommendation["summary"]), ""]
        if recommendation.get("patch"):
            lines += [fenced(recommendation["patch"], "diff"), ""]
        lines.append("</details>")
        items.append("\n".join(lines))
    return items


def render_markdown(doc: Any, limit: int = GITHUB_COMMENT_LIMIT, *, source_base: str | None = None) -> str:
    """The pull-request comment, at most `limit` characters for any plan size.

    Order: gate decision and fixes → cost diff and new findings (with `--compare-to`) → cost → supply chain →
    everything else (collapsed). Each section is cut at a
    whole row with a visible "N more … in the HTML/SARIF artifact" line; tags are opened and closed by the same
    section, so a cut never leaves a `<details>` open. With `source_base` (`links.blob_base`) locations link to
    the file and line in the repository."""
    report = prepare_report(doc)
    summary = _summary(report)
    sections = [_fixes(report), _cost_diff(report), _new_findings(report, source_base), _cost(report),
                _observed(report), _supply_chain(report), _findings(report, source_base),
                _remediations(report), _explanations(report)]
    footer = f"\n\n<sub>{text(view.headline(report))}</sub>\n"
    remaining = limit - len(summary) - len(footer)
    parts = [summary]
    for index, section in enumerate(sections):
        later = sum(s.minimal() for s in sections[index + 1:])
        allowance = int(max(0, remaining - later) * SECTION_SHARE[section.name]) if index + 1 < len(sections) \
            else remaining
        allowance = max(allowance, section.minimal())
        rendered = section.render(allowance)
        parts.append(rendered)
        remaining -= len(rendered)
    return "".join(parts) + footer
