"""Console summary of a preflight report (rich).

Every piece of text that came from a user file (messages, names, diffs) goes in as `rich.text.Text` or `Syntax`,
never as a markup string, so a message containing `[bold red]` is shown literally instead of restyling the report.
Rich already drops colour when stdout is not a terminal and honours `NO_COLOR`; nothing here depends on either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from preflight.report import view
from preflight.report.compare import comparison_sentence
from preflight.report.observed import observed_sentence
from preflight.report.prepare import prepare_report

SEVERITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan"}
ENFORCEMENT_STYLE = {"mandatory": "bold", "remediate": "magenta", "advisory": "dim", "disabled": "dim strike"}
# Below this many columns a table cannot give every column a readable width: each entry becomes a short block
# (title line, then the text indented) instead, so the text keeps the whole width.
TABLE_LAYOUT_COLUMNS = 110
MIN_TEXT_COLUMN = 30  # the narrowest a message/fix column may get in a table
# Prediction and supply-chain tables (short cells) merge columns below this width.
WIDE_LAYOUT_COLUMNS = 120
DRIVERS_COLUMNS = 170  # the cost-driver column only where it gets a readable width
# Without --verbose the console is a summary of bounded length; the files (JSON, SARIF, HTML) list everything.
SUMMARY_LIMITS = {"fixes": 12, "findings": 25, "remediations": 3, "predictions": 10, "recommendations": 3,
                  "supply_chain": 10}


@dataclass(frozen=True)
class Layout:
    """Column widths for a console width; computed here (not left to rich) so every width is readable."""

    width: int
    table: bool  # False: stacked blocks
    severity: int = 8
    control: int = 0
    target: int = 0
    text: int = 0

    @classmethod
    def for_width(cls, width: int, longest_control: int = 30) -> Layout:
        if width < TABLE_LAYOUT_COLUMNS:
            return cls(width, table=False, text=max(20, width - 4))
        # Four columns: 2 cells of padding each minus the outer two (pad_edge off), 3 one-space dividers.
        free = width - 9 - cls.severity
        control = min(32, max(16, longest_control))  # control ids stay whole up to 32 characters
        target = min(48, max(26, (free - control) // 3))
        control -= max(0, MIN_TEXT_COLUMN - (free - control - target))  # long ids fold before the text does
        return cls(width, table=True, control=control, target=target, text=free - control - target)


def _more(hidden: int, what: str) -> Text:
    return Text(f"… {hidden} more {what}: run with --verbose, or see the HTML / SARIF / JSON report.",
                style="bold yellow")


def _severity_text(severity: str) -> Text:
    return Text(severity.upper(), style=SEVERITY_STYLE[severity])


def _header(doc: dict[str, Any]) -> RenderableType:
    text = Text()
    text.append("preflight ", style="bold")
    text.append(f"{doc['project']}/{doc['stack']}", style="bold cyan")
    text.append(f"  environment {doc['environment']}  ·  engine {doc['engine']}  ·  ")
    text.append(f"{doc['resources']['count']} resources", style="bold")
    text.append(f"  ·  {doc['generated_at']}", style="dim")
    counts = view.summary_counts(doc)
    tally = Text("findings: ")
    if not doc["violations"]:
        tally.append("none", style="green")
    for severity, count in counts.items():
        if count:
            tally.append(f"{count} {severity}", style=SEVERITY_STYLE[severity])
            tally.append("  ")
    return Group(text, tally)


def _gate_line(doc: dict[str, Any]) -> RenderableType:
    """The decision in one panel: the first and the last thing printed, so it never scrolls away."""
    summary = view.gate_summary(doc)
    body = Text()
    body.append(summary.decision, style="bold green" if summary.passed else "bold red")
    body.append(summary.sentence()[len(summary.decision):])
    for reason in summary.other_reasons:
        body.append("\n• ")
        body.append(reason)
    style = "green" if summary.passed else "red"
    return Panel(body, title="Gate", title_align="left", border_style=style)


def _fixes(doc: dict[str, Any], layout: Layout, verbose: bool) -> RenderableType | None:
    all_fixes = view.fixes(doc)
    if not all_fixes:
        return None
    shown = all_fixes if verbose else all_fixes[: SUMMARY_LIMITS["fixes"]]
    title = f"Fix first ({len(all_fixes)} fix(es) for {len(view.merged_findings(doc))} finding(s))"
    parts: list[RenderableType] = []
    if layout.table:
        table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", expand=False, pad_edge=False,
                      show_edge=False)
        table.add_column("Severity", width=layout.severity, no_wrap=True)
        table.add_column("Control(s)", width=layout.control, overflow="fold")
        table.add_column("Affected", width=layout.target, overflow="fold")
        table.add_column("Fix", width=layout.text, overflow="fold")
        for fix in shown:
            severity = _severity_text(fix.severity)
            if fix.blockers:
                severity.append(f"\nclears {fix.blockers}", style="bold")
            table.add_row(severity, Text("\n".join(fix.policies), style="bold"),
                          Text(f"{fix.count}: {fix.targets_text()}"), Text(fix.steps))
        parts.append(table)
    else:
        parts.append(Text(title, style="bold italic"))
        for fix in shown:
            head = Text.assemble(_severity_text(fix.severity), " ", (" + ".join(fix.policies), "bold"))
            if fix.blockers:
                head.append(f"  clears {fix.blockers} blocker(s)", style="bold")
            parts.append(head)
            parts.append(Padding(Text(f"{fix.count} affected: {fix.targets_text()}", style="dim"), (0, 0, 0, 2)))
            parts.append(Padding(Text(fix.steps), (0, 0, 0, 2)))
    if len(shown) < len(all_fixes):
        parts.append(_more(len(all_fixes) - len(shown), "fix(es)"))
    return Group(*parts)


def _findings(doc: dict[str, Any], layout: Layout, verbose: bool) -> RenderableType | None:
    findings = view.merged_findings(doc)
    if not findings:
        return None
    shown = findings if verbose else findings[: SUMMARY_LIMITS["findings"]]
    parts: list[RenderableType] = []
    if layout.table:
        table = Table(title="Policy findings", box=box.SIMPLE_HEAD, title_justify="left", expand=False,
                      pad_edge=False, show_edge=False)
        table.add_column("Severity", width=layout.severity, no_wrap=True)
        table.add_column("Control(s)", width=layout.control, overflow="fold")
        table.add_column("Resource / location", width=layout.target, overflow="fold")
        table.add_column("Message", width=layout.text, overflow="fold")
        for finding in shown:
            level = Text.assemble(_severity_text(finding.severity), "\n",
                                  (finding.enforcement, ENFORCEMENT_STYLE[finding.enforcement]))
            where = Text.assemble(view.resource_label(finding.first), "\n", (view.location(finding.first), "dim"))
            message = Text(finding.detail)
            if verbose and finding.remediation_steps:
                message.append(f"\nFix: {view.clean_text(finding.remediation_steps)}", style="dim")
            table.add_row(level, Text("\n".join(finding.policies)), where, message)
        parts.append(table)
    else:
        parts.append(Text("Policy findings", style="bold italic"))
        for finding in shown:
            parts.append(Text.assemble(_severity_text(finding.severity), " ",
                                       (finding.enforcement, ENFORCEMENT_STYLE[finding.enforcement]), " ",
                                       (" + ".join(finding.policies), "bold")))
            parts.append(Padding(Text(f"{view.resource_label(finding.first)} · {view.location(finding.first)}",
                                      style="dim"), (0, 0, 0, 2)))
            parts.append(Padding(Text(finding.detail), (0, 0, 0, 2)))
    if len(shown) < len(findings):
        parts.append(_more(len(findings) - len(shown), "finding(s)"))
    return Group(*parts)


def _errors(doc: dict[str, Any]) -> RenderableType | None:
    if not doc["errors"]:
        return None
    body = Text("\n").join(Text(f"• {error}") for error in doc["errors"])
    return Panel(body, title="Errors (these block the gate)", border_style="red", title_align="left")


def _risk_cell(prediction: dict[str, Any], key: str) -> Text:
    probability = view.risk_probability(prediction, key)
    if probability is None:
        return Text("–", style="dim")
    style = "bold red" if probability >= 0.5 else "yellow" if probability >= 0.2 else "green"
    cell = Text(view.percent(probability), style=style)
    if (prediction.get(key) or {}).get("synthetic_training"):
        cell.append(" (synthetic)", style="dim")
    return cell


def _predictions(doc: dict[str, Any], console_width: int, verbose: bool) -> RenderableType | None:
    predictions = doc["predictions"]
    if not predictions:
        return None
    wide = console_width >= WIDE_LAYOUT_COLUMNS
    # The summary shows the most expensive services (by P90, the budget's view); --verbose shows all, by name.
    by_cost = sorted(predictions, key=lambda name: (-predictions[name]["cost_usd_month"]["p90"], name))
    services = sorted(predictions) if verbose else by_cost[: SUMMARY_LIMITS["predictions"]]
    with_capacity = any(p.get("capacity_risk") for p in predictions.values())
    with_change = any(p.get("change_risk") for p in predictions.values())
    rate = view.exchange(doc)
    title = f"Cost and risk predictions ({rate.code} / month)"
    if len(services) < len(predictions):
        title += f", the {len(services)} highest P90 of {len(predictions)}"
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("Service", overflow="fold", min_width=min(28, max(len(s) for s in services)))
    if wide:
        table.add_column("Kind")
    table.add_column("P10", justify="right")
    table.add_column("P50", justify="right", style="bold")
    table.add_column("P90", justify="right")
    if wide:
        table.add_column("Workload")
    if with_capacity:
        table.add_column("Capacity risk" if wide else "Capacity", justify="right")
    if with_change:
        table.add_column("Change risk" if wide else "Change", justify="right")
    drivers = console_width >= DRIVERS_COLUMNS
    if drivers:
        table.add_column("Top cost drivers", overflow="fold", ratio=1, min_width=30)
    for service in services:
        prediction = predictions[service]
        band = prediction["cost_usd_month"]
        row: list[RenderableType] = [Text(service)]
        if wide:
            row.append(Text(prediction["kind"]))
        row += [Text(view.money(band[q], rate)) for q in ("p10", "p50", "p90")]
        if wide:
            row.append(Text((prediction.get("workload") or {}).get("source", "–")))
        if with_capacity:
            row.append(_risk_cell(prediction, "capacity_risk"))
        if with_change:
            row.append(_risk_cell(prediction, "change_risk"))
        if drivers:
            top = view.top_contributions(prediction.get("contributions"), 3)
            row.append(Text(", ".join(f"{c.feature} {c.value:+.2f}" for c in top) or "–"))
        table.add_row(*row)
    total = Text(
        "stack total: P10 {} · P50 {} · P90 {} (quantiles do not add exactly; shown as a guide). {}".format(
            *(view.money(sum(p["cost_usd_month"][q] for p in predictions.values()), rate)
              for q in ("p10", "p50", "p90")), view.currency_sentence(doc)
        ),
        style="dim",
    )
    return Group(table, total)


def _diff(diff: str) -> Syntax:
    return Syntax(diff.rstrip("\n"), "diff", theme="ansi_dark", background_color="default", word_wrap=True)


def _recommendations(doc: dict[str, Any], verbose: bool) -> list[RenderableType]:
    parts: list[RenderableType] = []
    hidden = 0
    for service in sorted(doc["predictions"]):
        recommendation = doc["predictions"][service].get("recommendation") or {}
        if not recommendation.get("summary") and not recommendation.get("patch"):
            continue
        if not verbose and len(parts) >= SUMMARY_LIMITS["recommendations"]:
            hidden += 1
            continue
        title = Text(f"Rightsizing: {service}", style="bold")
        body: list[RenderableType] = []
        if recommendation.get("summary"):
            body.append(Text(recommendation["summary"]))
        if recommendation.get("patch"):
            body.append(_diff(recommendation["patch"]))
        parts.append(Panel(Group(*body), title=title, title_align="left", border_style="blue"))
    if hidden:
        parts.append(_more(hidden, "rightsizing suggestion(s)"))
    return parts


def _supply_chain(doc: dict[str, Any], wide: bool, verbose: bool) -> RenderableType | None:
    if not doc["supply_chain"]:
        return None
    # Unverified artifacts first: they are what a reviewer must act on.
    entries = sorted(doc["supply_chain"], key=lambda e: (e["verified"], e["service"], e["artifact"]))
    shown = entries if verbose else entries[: SUMMARY_LIMITS["supply_chain"]]
    table = Table(title="Supply chain", box=box.SIMPLE_HEAVY, title_justify="left", expand=True)
    if wide:
        table.add_column("Service", overflow="fold")
        table.add_column("Artifact", ratio=1, overflow="fold")
        table.add_column("Kind")
    else:
        table.add_column("Service / artifact", ratio=2, overflow="fold")
    table.add_column("Signature", no_wrap=True)
    table.add_column("Signer / issuer or reason", ratio=2, overflow="fold")
    if wide:
        table.add_column("Digest", overflow="fold")
    table.add_column("Vulnerabilities", ratio=1, overflow="fold", min_width=15)
    for entry in shown:
        if entry["verified"]:
            status = Text("✔ verified", style="green")
            who = Text(f"{entry.get('signer') or '?'}\n{entry.get('issuer') or '?'}")
        else:
            status = Text("✘ NOT verified", style="bold red")
            who = Text(entry.get("reason") or "no reason given", style="red")
        digest = entry.get("digest") or "–"
        counts = view.vulnerability_counts(entry) or {}
        vuln_style = "bold red" if counts.get("critical") else "red" if counts.get("high") else ""
        vulnerabilities = Text(view.vulnerability_summary(entry), style=vuln_style)
        if wide:
            short_digest = digest[:19] + "…" if len(digest) > 20 else digest
            row = [Text(entry["service"]), Text(entry["artifact"]), Text(entry["kind"]), status, who]
            row += [Text(short_digest), vulnerabilities]
        else:
            artifact = Text.assemble(entry["service"], "\n", (f"{entry['kind']}: {entry['artifact']}", "dim"))
            row = [artifact, status, who, vulnerabilities]
        table.add_row(*row)
    if len(shown) < len(entries):
        return Group(table, _more(len(entries) - len(shown), "artifact(s)"))
    return table


def _remediations(doc: dict[str, Any], verbose: bool) -> list[RenderableType]:
    remediations = doc["remediations"] if verbose else doc["remediations"][: SUMMARY_LIMITS["remediations"]]
    hidden = len(doc["remediations"]) - len(remediations)
    return [
        Panel(
            _diff(remediation["diff"]),
            title=Text(f"Remediation by {remediation['policy']}", style="bold magenta"),
            subtitle=Text(remediation["resource_urn"].rsplit("::", 1)[-1]),
            title_align="left",
            border_style="magenta",
        )
        for remediation in remediations
    ] + ([_more(hidden, "automatic remediation(s)")] if hidden else [])


def _overrides(doc: dict[str, Any]) -> RenderableType | None:
    if not doc["overrides"]:
        return None
    body = Text()
    for index, override in enumerate(doc["overrides"]):
        if index:
            body.append("\n")
        body.append(f"{override['when']}  {override['who']}\n", style="bold")
        if override.get("control"):
            body.append(f"  control: {override['control']} (downgraded to advisory)\n")
        body.append(f"  reason: {override['reason']}")
    return Panel(body, title="⚠ GATE OVERRIDE RECORDED", title_align="left", border_style="bold yellow")


def _comparison(doc: dict[str, Any]) -> RenderableType | None:
    comparison = doc.get("comparison")
    if not comparison:
        return None
    body = Text(comparison_sentence(comparison, view.exchange(doc)))
    for finding in comparison["findings"]["new"][:SUMMARY_LIMITS["fixes"]]:
        body.append(f"\n  new  {finding['severity']:<8} {finding['policy']}  {finding['resource_name'] or 'stack'}"
                    f"  {view.location(finding)}")
    hidden = len(comparison["findings"]["new"]) - SUMMARY_LIMITS["fixes"]
    if hidden > 0:
        body.append(f"\n  … {hidden} more new findings (--verbose, or the HTML/JSON report)")
    return Panel(body, title="Against the base report", title_align="left", border_style="cyan")


def _observed(doc: dict[str, Any]) -> RenderableType | None:
    observed = doc.get("observed")
    if not observed:
        return None
    body = Text(observed_sentence(observed))
    for name, entry in observed["services"].items():
        if entry["status"] == "drifted":
            body.append(f"\n  drifted  {name}: {entry.get('advice') or ''}")
    for key in ("anomalies", "idle"):
        for item in observed[key][: SUMMARY_LIMITS["recommendations"]]:
            body.append(f"\n  {key[:-1] if key == 'anomalies' else key}  {item['service']}: {item['text']}")
    return Panel(body, title="Observed (preflight observe)", title_align="left", border_style="cyan")


def render_terminal(doc: Any, console: Console | None = None, *, verbose: bool = False) -> None:
    """Print the report to `console` (default: a new Console on stdout).

    Gate decision first and last; in between the fixes, then the details. Without `verbose` every section is
    capped (SUMMARY_LIMITS) so the output has the same bounded length for 2 services or 2,000."""
    report = prepare_report(doc)
    console = console or Console()
    longest = max((len(v["policy"]) for v in report["violations"]), default=0)
    layout = Layout.for_width(console.width, longest)
    wide = console.width >= WIDE_LAYOUT_COLUMNS
    sections: list[RenderableType | None] = [
        _header(report),
        _gate_line(report),
        _errors(report),
        _comparison(report),
        _fixes(report, layout, verbose),
        _findings(report, layout, verbose),
        *_remediations(report, verbose),
        _predictions(report, console.width, verbose),
        _observed(report),
        *_recommendations(report, verbose),
        _supply_chain(report, wide, verbose),
        _overrides(report),
        _gate_line(report),
    ]
    for section in sections:
        if section is not None:
            console.print(section)
