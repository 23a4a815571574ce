"""Console summary of a preflight report (rich).

Every piece of text that came from a user file (messages, names, diffs) goes in as `rich.text.Text` or `Syntax`,
never as a markup string, so a message containing `[bold red]` is shown literally instead of restyling the report.
Rich already drops colour when stdout is not a terminal and honours `NO_COLOR`; nothing here depends on either.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from preflight.report import view
from preflight.report.prepare import prepare_report

SEVERITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan"}
# Below this many columns (a CI log is 80) tables merge columns instead of folding every cell to a sliver.
WIDE_LAYOUT_COLUMNS = 120
# A console summary with thousands of rows helps nobody (and rich needs ~4 ms a row); the files have everything.
MAX_ROWS_PER_SEVERITY = 100
ENFORCEMENT_STYLE = {"mandatory": "bold", "remediate": "magenta", "advisory": "dim", "disabled": "dim strike"}


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


def _findings(doc: dict[str, Any], wide: bool) -> RenderableType | None:
    if not doc["violations"]:
        return None
    table = Table(title="Policy findings", box=box.SIMPLE_HEAVY, title_justify="left", expand=True)
    table.add_column("Severity", no_wrap=True)
    if wide:
        table.add_column("Policy", max_width=34, overflow="fold")
        table.add_column("Enforcement", no_wrap=True)
        table.add_column("Resource", max_width=28, overflow="fold")
        table.add_column("Location", max_width=40, overflow="fold")
    else:  # an 80-column CI log: one "where" column so the message keeps a readable width
        table.add_column("Policy / resource / location", ratio=2, overflow="fold")
    table.add_column("Message", ratio=3, overflow="fold")
    hidden = 0
    for severity, violations in view.violations_by_severity(doc).items():
        hidden += max(0, len(violations) - MAX_ROWS_PER_SEVERITY)
        for violation in violations[:MAX_ROWS_PER_SEVERITY]:
            level = Text(severity.upper(), style=SEVERITY_STYLE[severity])
            enforcement = Text(violation["enforcement"], style=ENFORCEMENT_STYLE[violation["enforcement"]])
            if wide:
                where: list[RenderableType] = [
                    Text(violation["policy"]),
                    enforcement,
                    Text(view.resource_label(violation)),
                    Text(view.location(violation)),
                ]
            else:
                level = Text.assemble(level, "\n", enforcement)
                where = [
                    Text.assemble(
                        (violation["policy"], "bold"),
                        "\n",
                        view.resource_label(violation),
                        "\n",
                        (view.location(violation), "dim"),
                    )
                ]
            table.add_row(level, *where, Text(violation["message"]))
        table.add_section()
    if hidden:
        note = Text(f"… {hidden} more finding(s) not shown here; the JSON, SARIF and HTML reports list all.")
        return Group(table, Text.assemble((note.plain, "bold yellow")))
    return table


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


def _predictions(doc: dict[str, Any], wide: bool) -> RenderableType | None:
    predictions = doc["predictions"]
    if not predictions:
        return None
    with_capacity = any(p.get("capacity_risk") for p in predictions.values())
    with_change = any(p.get("change_risk") for p in predictions.values())
    table = Table(title="Cost and risk predictions (USD / month)", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("Service", overflow="fold")
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
    if wide:
        table.add_column("Top cost drivers", overflow="fold")
    for service in sorted(predictions):
        prediction = predictions[service]
        band = prediction["cost_usd_month"]
        row: list[RenderableType] = [Text(service)]
        if wide:
            row.append(Text(prediction["kind"]))
        row += [Text(view.usd(band[q])) for q in ("p10", "p50", "p90")]
        if wide:
            row.append(Text((prediction.get("workload") or {}).get("source", "–")))
        if with_capacity:
            row.append(_risk_cell(prediction, "capacity_risk"))
        if with_change:
            row.append(_risk_cell(prediction, "change_risk"))
        if wide:
            top = view.top_contributions(prediction.get("contributions"), 3)
            row.append(Text(", ".join(f"{c.feature} {c.value:+.2f}" for c in top) or "–"))
        table.add_row(*row)
    total = Text(
        "stack total: P10 {} · P50 {} · P90 {} (quantiles do not add exactly; shown as a guide)".format(
            *(view.usd(sum(p["cost_usd_month"][q] for p in predictions.values())) for q in ("p10", "p50", "p90"))
        ),
        style="dim",
    )
    return Group(table, total)


def _diff(diff: str) -> Syntax:
    return Syntax(diff.rstrip("\n"), "diff", theme="ansi_dark", background_color="default", word_wrap=True)


def _recommendations(doc: dict[str, Any]) -> list[RenderableType]:
    parts: list[RenderableType] = []
    for service in sorted(doc["predictions"]):
        recommendation = doc["predictions"][service].get("recommendation") or {}
        if not recommendation.get("summary") and not recommendation.get("patch"):
            continue
        title = Text(f"Rightsizing: {service}", style="bold")
        body: list[RenderableType] = []
        if recommendation.get("summary"):
            body.append(Text(recommendation["summary"]))
        if recommendation.get("patch"):
            body.append(_diff(recommendation["patch"]))
        parts.append(Panel(Group(*body), title=title, title_align="left", border_style="blue"))
    return parts


def _supply_chain(doc: dict[str, Any], wide: bool) -> RenderableType | None:
    if not doc["supply_chain"]:
        return None
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
    table.add_column("Vulnerabilities", ratio=1, overflow="fold")
    for entry in doc["supply_chain"]:
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
    return table


def _remediations(doc: dict[str, Any]) -> list[RenderableType]:
    return [
        Panel(
            _diff(remediation["diff"]),
            title=Text(f"Remediation by {remediation['policy']}", style="bold magenta"),
            subtitle=Text(remediation["resource_urn"].rsplit("::", 1)[-1]),
            title_align="left",
            border_style="magenta",
        )
        for remediation in doc["remediations"]
    ]


def _overrides(doc: dict[str, Any]) -> RenderableType | None:
    if not doc["overrides"]:
        return None
    body = Text()
    for index, override in enumerate(doc["overrides"]):
        if index:
            body.append("\n")
        body.append(f"{override['when']}  {override['who']}\n", style="bold")
        body.append(f"  reason: {override['reason']}")
    return Panel(body, title="⚠ GATE OVERRIDE RECORDED", title_align="left", border_style="bold yellow")


def _gate(doc: dict[str, Any]) -> RenderableType:
    gate = doc["gate"]
    passed = gate["decision"] == "pass"
    body = Text()
    body.append("PASS" if passed else "BLOCK", style="bold green" if passed else "bold red")
    body.append(" — " + ("nothing blocks `pulumi up`" if passed else "`pulumi up` must not run"))
    for reason in gate["reasons"]:
        body.append("\n• ")
        body.append(reason)
    return Panel(body, title="Gate", title_align="left", border_style="green" if passed else "red")


def render_terminal(doc: Any, console: Console | None = None) -> None:
    """Print the report summary to `console` (default: a new Console on stdout)."""
    report = prepare_report(doc)
    console = console or Console()
    wide = console.width >= WIDE_LAYOUT_COLUMNS
    sections: list[RenderableType | None] = [
        _header(report),
        _errors(report),
        _findings(report, wide),
        *_remediations(report),
        _predictions(report, wide),
        *_recommendations(report),
        _supply_chain(report, wide),
        _overrides(report),
        _gate(report),
    ]
    for section in sections:
        if section is not None:
            console.print(section)
