"""One self-contained HTML report: inline CSS, inline SVG charts, no scripts, no external assets.

A Content-Security-Policy meta tag forbids every outside fetch and all scripts, so even a missed escape could not
load anything. Every value from the document goes through `esc` (messages come from user files).
"""

from __future__ import annotations

import html
from typing import Any

from preflight.report import view
from preflight.report.prepare import prepare_report

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
SEVERITY_COLOUR = {"critical": "#8b0000", "high": "#d1242f", "medium": "#bf8700", "low": "#0969da"}
UP_COLOUR = "#d1242f"  # a contribution that raises the prediction (cost or risk)
DOWN_COLOUR = "#1a7f37"

CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; margin: 0;
       background: #f6f8fa; }
main { max-width: 1200px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: #59636e; margin-bottom: 16px; }
.card { background: #fff; border: 1px solid #d1d9e0; border-radius: 8px; padding: 12px 16px; margin: 12px 0; }
.gate { border-width: 2px; } .gate.pass { border-color: #1a7f37; background: #dafbe1; }
.gate.block { border-color: #d1242f; background: #ffebe9; }
.gate .decision { font-size: 20px; font-weight: 700; } .gate.pass .decision { color: #1a7f37; }
.gate.block .decision { color: #d1242f; }
.override { border: 2px solid #9a6700; background: #fff8c5; }
.override .title, .errors .title { font-weight: 700; font-size: 16px; }
.errors { border: 2px solid #d1242f; background: #ffebe9; }
.chips { display: flex; gap: 8px; flex-wrap: wrap; }
.chip { border-radius: 12px; padding: 2px 10px; color: #fff; font-weight: 600; font-size: 12px;
        white-space: nowrap; display: inline-block; }
.chip.zero { background: #d1d9e0 !important; color: #59636e; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid #d1d9e0; }
th { background: #f6f8fa; font-weight: 600; } td.num, th.num { text-align: right; white-space: nowrap; }
tr.sev-critical td:first-child { border-left: 4px solid #8b0000; }
tr.sev-high td:first-child { border-left: 4px solid #d1242f; }
tr.sev-medium td:first-child { border-left: 4px solid #bf8700; }
tr.sev-low td:first-child { border-left: 4px solid #0969da; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #eff2f5;
       padding: 1px 4px; border-radius: 4px; overflow-wrap: anywhere; }
.fix { color: #59636e; font-size: 13px; margin-top: 4px; }
pre.diff { font: 12px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #fff;
           border: 1px solid #d1d9e0; border-radius: 6px; padding: 8px 0; overflow-x: auto; margin: 6px 0; }
pre.diff span { display: block; padding: 0 12px; white-space: pre; }
pre.diff .add { background: #dafbe1; } pre.diff .del { background: #ffebe9; }
pre.diff .hunk { color: #8250df; background: #fbefff; } pre.diff .file { font-weight: 700; }
.ok { color: #1a7f37; font-weight: 600; } .bad { color: #d1242f; font-weight: 700; }
.muted { color: #59636e; } .nowrap { white-space: nowrap; }
td.wide { max-width: 380px; overflow-wrap: anywhere; } svg { display: block; max-width: 100%; height: auto; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
footer { color: #59636e; font-size: 12px; margin-top: 32px; }
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float) -> str:
    return f"{value:.1f}"


def _chip(label: str, colour: str, zero: bool = False) -> str:
    return f'<span class="chip{" zero" if zero else ""}" style="background:{colour}">{esc(label)}</span>'


def _diff(diff: str) -> str:
    lines = []
    for line in diff.rstrip("\n").split("\n"):
        if line.startswith(("+++", "---")):
            css = "file"
        elif line.startswith("@@"):
            css = "hunk"
        elif line.startswith("+"):
            css = "add"
        elif line.startswith("-"):
            css = "del"
        else:
            css = "ctx"
        lines.append(f'<span class="{css}">{esc(line) or " "}</span>')
    return f'<pre class="diff">{"".join(lines)}</pre>'


def _header(doc: dict[str, Any]) -> str:
    counts = view.summary_counts(doc)
    chips = "".join(_chip(f"{counts[s]} {s}", SEVERITY_COLOUR[s], zero=not counts[s]) for s in view.SEVERITIES)
    return (
        f"<h1>preflight report: {esc(doc['project'])}/{esc(doc['stack'])}</h1>"
        f'<div class="meta">environment <b>{esc(doc["environment"])}</b> · {esc(doc["engine"])} engine · '
        f"{doc['resources']['count']} resources · generated {esc(doc['generated_at'])}</div>"
        f'<div class="chips">{chips}</div>'
    )


def _gate(doc: dict[str, Any]) -> str:
    gate = doc["gate"]
    decision = gate["decision"]
    word = "PASS" if decision == "pass" else "BLOCK"
    icon = "✔" if decision == "pass" else "✖"  # plain symbols: emoji fonts are missing on many CI browsers
    sentence = "nothing blocks pulumi up" if decision == "pass" else "pulumi up must not run"
    reasons = "".join(f"<li>{esc(r)}</li>" for r in gate["reasons"])
    return (
        f'<section class="card gate {decision}" id="gate"><div class="decision">{icon} Gate: {word}</div>'
        f"<div>{sentence}</div>{f'<ul>{reasons}</ul>' if reasons else ''}</section>"
    )


def _overrides(doc: dict[str, Any]) -> str:
    if not doc["overrides"]:
        return ""
    items = "".join(
        f"<li><b>{esc(o['who'])}</b> at {esc(o['when'])}: {esc(o['reason'])}</li>" for o in doc["overrides"]
    )
    return (
        '<section class="card override" id="overrides"><div class="title">⚠ Gate override recorded</div>'
        f"<ul>{items}</ul></section>"
    )


def _errors(doc: dict[str, Any]) -> str:
    if not doc["errors"]:
        return ""
    items = "".join(f"<li>{esc(e)}</li>" for e in doc["errors"])
    return (
        '<section class="card errors" id="errors"><div class="title">Errors (these block the gate)</div>'
        f"<ul>{items}</ul></section>"
    )


def _findings(doc: dict[str, Any]) -> str:
    violations = view.sorted_violations(doc)
    if not violations:
        return '<h2 id="findings">Policy findings</h2><p class="ok">No policy violations.</p>'
    rows = []
    for v in violations:
        policy = f"<code>{esc(v['policy'])}</code>"
        if v.get("url"):
            policy = f'<a href="{esc(v["url"])}" rel="noreferrer noopener">{policy}</a>'
        peers = " ".join(f"<code>{esc(p)}</code>" for p in v.get("peer_ids") or [])
        framework = f"<b>{esc(v['framework'])}</b> " if v.get("framework") else ""
        fix = f'<div class="fix">Fix: {esc(v["remediation_steps"])}</div>' if v.get("remediation_steps") else ""
        rows.append(
            f'<tr class="sev-{v["severity"]}">'
            f"<td>{_chip(v['severity'], SEVERITY_COLOUR[v['severity']])}</td>"
            f'<td>{policy}<div class="muted">{esc(v["pack"])}</div></td>'
            f"<td>{esc(v['enforcement'])}</td><td>{esc(view.resource_label(v))}</td>"
            f"<td><code>{esc(view.location(v))}</code></td>"
            f"<td>{esc(v['message'])}{fix}</td><td>{(framework + peers) or '–'}</td></tr>"
        )
    head = (
        "<tr><th>Severity</th><th>Policy</th><th>Enforcement</th><th>Resource</th><th>Location</th>"
        "<th>Message</th><th>Framework / peers</th></tr>"
    )
    return f'<h2 id="findings">Policy findings</h2><table>{head}{"".join(rows)}</table>'


def _remediations(doc: dict[str, Any]) -> str:
    if not doc["remediations"]:
        return ""
    blocks = "".join(
        f'<div class="card"><b>{esc(r["policy"])}</b> on {esc(r["resource_urn"].rsplit("::", 1)[-1])}'
        f"{_diff(r['diff'])}</div>"
        for r in doc["remediations"]
    )
    return f'<h2 id="remediations">Automatic remediations</h2>{blocks}'


def cost_band_svg(predictions: dict[str, Any]) -> str:
    """One row per service: a bar from P10 to P90 with a tick at P50, on a shared dollar axis."""
    services = sorted(predictions)
    label_w, plot_w, row_h, top = 190, 560, 34, 24
    width = label_w + plot_w + 210  # room for the value label right of the widest bar
    height = top + row_h * len(services) + 24
    largest = max(p["cost_usd_month"]["p90"] for p in predictions.values()) or 1.0

    def x(amount: float) -> float:
        return label_w + amount / largest * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="Monthly cost bands P10 to P90 per service">',
        f'<text x="{label_w}" y="14" font-size="11" fill="#59636e">$0</text>',
        f'<text x="{_num(x(largest))}" y="14" font-size="11" fill="#59636e" text-anchor="end">'
        f"{esc(view.usd(largest))}</text>",
        f'<line x1="{label_w}" y1="{top - 4}" x2="{_num(x(largest))}" y2="{top - 4}" stroke="#d1d9e0"/>',
    ]
    for row, service in enumerate(services):
        band = predictions[service]["cost_usd_month"]
        y = top + row * row_h
        mid = y + row_h / 2
        p10, p50, p90 = x(band["p10"]), x(band["p50"]), x(band["p90"])
        parts += [
            f'<text x="{label_w - 8}" y="{_num(mid + 4)}" font-size="12" text-anchor="end">{esc(service)}</text>',
            f'<rect x="{_num(p10)}" y="{_num(mid - 8)}" width="{_num(max(p90 - p10, 2))}" height="16" rx="3" '
            f'fill="#54aeff" fill-opacity="0.45"><title>{esc(service)}: P10 {esc(view.usd(band["p10"]))}, '
            f"P50 {esc(view.usd(band['p50']))}, P90 {esc(view.usd(band['p90']))}</title></rect>",
            f'<line x1="{_num(p50)}" y1="{_num(mid - 11)}" x2="{_num(p50)}" y2="{_num(mid + 11)}" '
            'stroke="#0550ae" stroke-width="3"/>',
            f'<text x="{_num(p90 + 6)}" y="{_num(mid + 4)}" font-size="11" fill="#1f2328">'
            f'{esc(view.usd(band["p50"]))} <tspan fill="#59636e">({esc(view.usd(band["p10"]))}–'
            f"{esc(view.usd(band['p90']))})</tspan></text>",
        ]
    parts.append(
        f'<text x="{label_w}" y="{height - 6}" font-size="11" fill="#59636e">bar: P10–P90 · tick: P50 · '
        "USD per month</text></svg>"
    )
    return "".join(parts)


def contributions_svg(title: str, contributions: dict[str, float] | None) -> str:
    """Diverging horizontal bars around zero: red pushes the prediction up, green pulls it down."""
    top = view.top_contributions(contributions)
    if not top:
        return ""
    label_w, value_w, half, row_h, head = 150, 40, 110, 20, 22
    width = label_w + 2 * (value_w + half)
    height = head + row_h * len(top) + 6
    largest = max(abs(c.value) for c in top) or 1.0
    zero = label_w + value_w + half  # value_w keeps a negative bar's number clear of the feature names
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{esc(title)}">',
        f'<text x="0" y="14" font-size="12" font-weight="600">{esc(title)}</text>',
        f'<line x1="{zero}" y1="{head - 2}" x2="{zero}" y2="{height - 2}" stroke="#59636e"/>',
    ]
    for row, contribution in enumerate(top):
        y = head + row * row_h
        length = abs(contribution.value) / largest * half
        x = zero if contribution.value >= 0 else zero - length
        colour = UP_COLOUR if contribution.value > 0 else DOWN_COLOUR
        value_x = zero + length + 4 if contribution.value >= 0 else zero - length - 4
        anchor = "start" if contribution.value >= 0 else "end"
        parts += [
            f'<text x="{label_w - 6}" y="{y + 13}" font-size="11" text-anchor="end">{esc(contribution.feature)}</text>',
            f'<rect x="{_num(x)}" y="{y + 3}" width="{_num(max(length, 1))}" height="13" fill="{colour}">'
            f"<title>{esc(contribution.feature)}: {contribution.value:+.3f}</title></rect>",
            f'<text x="{_num(value_x)}" y="{y + 13}" font-size="10" fill="#59636e" text-anchor="{anchor}">'
            f"{contribution.value:+.2f}</text>",
        ]
    parts.append("</svg>")
    return "".join(parts)


def _risk_cell(prediction: dict[str, Any], key: str) -> str:
    probability = view.risk_probability(prediction, key)
    if probability is None:
        return '<td class="num muted">–</td>'
    css = "bad" if probability >= 0.5 else "" if probability >= 0.2 else "ok"
    synthetic = ' <span class="muted">(synthetic)</span>' if prediction[key].get("synthetic_training") else ""
    return f'<td class="num"><span class="{css}">{esc(view.percent(probability))}</span>{synthetic}</td>'


def _predictions(doc: dict[str, Any]) -> str:
    predictions = doc["predictions"]
    if not predictions:
        return ""
    rows = []
    for service in sorted(predictions):
        p = predictions[service]
        band = p["cost_usd_month"]
        rows.append(
            f"<tr><td>{esc(service)}</td><td>{esc(p['kind'])}</td>"
            f'<td class="num">{esc(view.usd(band["p10"]))}</td><td class="num"><b>{esc(view.usd(band["p50"]))}'
            f'</b></td><td class="num">{esc(view.usd(band["p90"]))}</td>'
            f"<td>{esc((p.get('workload') or {}).get('source', '–'))}</td>"
            f"{_risk_cell(p, 'capacity_risk')}{_risk_cell(p, 'change_risk')}</tr>"
        )
    head = (
        '<tr><th>Service</th><th>Kind</th><th class="num">P10</th><th class="num">P50</th><th class="num">P90</th>'
        '<th>Workload from</th><th class="num">Capacity risk</th><th class="num">Change risk</th></tr>'
    )
    charts = []
    for service in sorted(predictions):
        p = predictions[service]
        svgs = [
            contributions_svg("cost", p.get("contributions")),
            contributions_svg("capacity risk", (p.get("capacity_risk") or {}).get("contributions")),
            contributions_svg("change risk", (p.get("change_risk") or {}).get("contributions")),
        ]
        body = "".join(svg for svg in svgs if svg)
        recommendation = p.get("recommendation") or {}
        if recommendation.get("summary"):
            body += f"<p><b>Rightsizing:</b> {esc(recommendation['summary'])}</p>"
        if recommendation.get("patch"):
            body += _diff(recommendation["patch"])
        if body:
            charts.append(f'<div class="card"><h3>{esc(service)}</h3>{body}</div>')
    return (
        '<h2 id="predictions">Cost (USD / month) and risk</h2>'
        f'<div class="card">{cost_band_svg(predictions)}</div><table>{head}{"".join(rows)}</table>'
        '<h3>Per-feature contributions</h3><p class="muted">XGBoost <code>pred_contribs</code> in each '
        "model's output units; red pushes the prediction up, green pulls it down.</p>"
        f'<div class="grid">{"".join(charts)}</div>'
    )


def _supply_chain(doc: dict[str, Any]) -> str:
    if not doc["supply_chain"]:
        return ""
    rows = []
    for entry in doc["supply_chain"]:
        if entry["verified"]:
            status = '<span class="ok">✔ verified</span>'
            detail = f'{esc(entry.get("signer") or "?")}<div class="muted">{esc(entry.get("issuer") or "?")}</div>'
        else:
            status = '<span class="bad">✘ not verified</span>'
            detail = f'<span class="bad">{esc(entry.get("reason") or "no reason given")}</span>'
        digest = "–"
        if entry.get("digest"):  # abbreviated like `docker images`; the full value stays in the tooltip
            digest = f'<code title="{esc(entry["digest"])}">{esc(entry["digest"][:19])}…</code>'
        rows.append(
            f"<tr><td>{esc(entry['service'])}</td><td><code>{esc(entry['artifact'])}</code></td>"
            f'<td>{esc(entry["kind"])}</td><td class="nowrap">{status}</td><td class="wide">{detail}</td>'
            f"<td>{digest}</td>"
            f"<td>{esc(view.vulnerability_summary(entry))}</td></tr>"
        )
    head = (
        "<tr><th>Service</th><th>Artifact</th><th>Kind</th><th>Signature</th><th>Signer / reason</th>"
        "<th>Digest</th><th>Vulnerabilities</th></tr>"
    )
    return f'<h2 id="supply-chain">Supply chain</h2><table>{head}{"".join(rows)}</table>'


def render_html(doc: Any) -> str:
    """The whole report as one HTML page (UTF-8 text)."""
    report = prepare_report(doc)
    title = f"preflight {report['gate']['decision']}: {report['project']}/{report['stack']}"
    body = "".join(
        [
            _header(report),
            _gate(report),
            _overrides(report),
            _errors(report),
            _findings(report),
            _remediations(report),
            _predictions(report),
            _supply_chain(report),
            f"<footer>report schema {esc(report['schema_version'])} · {esc(view.headline(report))}</footer>",
        ]
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
