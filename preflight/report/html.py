"""One self-contained HTML report: inline CSS, inline SVG charts, one small inline script, no external assets.

A Content-Security-Policy meta tag forbids every outside fetch and allows exactly one script: ours, by its
SHA-256 hash, so even a missed escape could neither load anything nor run injected code. Every value from the
document goes through `esc` (messages come from user files). The script only sorts, filters, searches and
groups rows that are already in the page; without it the page is complete, merely static.
"""

from __future__ import annotations

import base64
import hashlib
import html
from typing import Any

from guardrails_predict.pricing.currency import USD, ExchangeRate

from preflight.report import view
from preflight.report.compare import comparison_sentence, signed_money
from preflight.report.links import location_url
from preflight.report.observed import observed_sentence
from preflight.report.prepare import prepare_report

SEVERITY_COLOUR = {"critical": "#8b0000", "high": "#d1242f", "medium": "#bf8700", "low": "#0969da"}
UP_COLOUR = "#d1242f"  # a contribution that raises the prediction (cost or risk)
DOWN_COLOUR = "#1a7f37"
CHART_CHAR_WIDTH = 6.6  # px per character of an 11-12 px sans-serif label: wide enough that labels never clip
COST_CHART_ROWS = 30  # the cost-band chart shows the most expensive services; the table lists all

CSS = """
:root { color-scheme: light dark; --bg: #f6f8fa; --fg: #1f2328; --muted: #59636e; --card: #fff;
        --line: #d1d9e0; --code: #eff2f5; --pass-bg: #dafbe1; --pass: #1a7f37; --block-bg: #ffebe9;
        --block: #d1242f; --warn-bg: #fff8c5; --warn: #9a6700; --link: #0969da; --head: #f6f8fa; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --card: #151b23; --line: #3d444d; --code: #262c36;
          --pass-bg: #12261e; --pass: #3fb950; --block-bg: #2d1619; --block: #f85149; --warn-bg: #2e2610;
          --warn: #d29922; --link: #4493f8; --head: #1b222c; }
}
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); margin: 0;
       background: var(--bg); }
a { color: var(--link); }
main { max-width: 1200px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; overflow-wrap: anywhere; } h2 { font-size: 18px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: var(--muted); margin-bottom: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px;
        margin: 12px 0; }
.gate { border-width: 2px; } .gate.pass { border-color: var(--pass); background: var(--pass-bg); }
.gate.block { border-color: var(--block); background: var(--block-bg); }
.gate .decision { font-size: 20px; font-weight: 700; } .gate.pass .decision { color: var(--pass); }
.gate.block .decision { color: var(--block); }
.override { border: 2px solid var(--warn); background: var(--warn-bg); }
.override .title, .errors .title { font-weight: 700; font-size: 16px; }
.errors { border: 2px solid var(--block); background: var(--block-bg); }
.chips { display: flex; gap: 8px; flex-wrap: wrap; }
.chip { border-radius: 12px; padding: 2px 10px; color: #fff; font-weight: 600; font-size: 12px;
        white-space: nowrap; display: inline-block; }
.chip.zero { background: var(--line) !important; color: var(--muted); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: var(--card); }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
th { background: var(--head); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
th button { font: inherit; color: inherit; background: none; border: 0; padding: 0; cursor: pointer; }
th button::after { content: " ↕"; color: var(--muted); }
th[aria-sort="ascending"] button::after { content: " ↑"; } th[aria-sort="descending"] button::after { content: " ↓"; }
tr.group th { background: var(--code); }
tr.sev-critical td:first-child { border-left: 4px solid #8b0000; }
tr.sev-high td:first-child { border-left: 4px solid #d1242f; }
tr.sev-medium td:first-child { border-left: 4px solid #bf8700; }
tr.sev-low td:first-child { border-left: 4px solid #0969da; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--code);
       padding: 1px 4px; border-radius: 4px; overflow-wrap: anywhere; }
.fix { color: var(--muted); font-size: 13px; margin-top: 4px; }
.toolbar { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 8px 0; }
.toolbar input, .toolbar select { font: inherit; color: var(--fg); background: var(--card);
        border: 1px solid var(--line); border-radius: 6px; padding: 4px 8px; }
.toolbar input[type=search] { min-width: 14em; flex: 1; }
pre.diff { font: 12px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--card);
           border: 1px solid var(--line); border-radius: 6px; padding: 8px 0; overflow-x: auto; margin: 6px 0; }
pre.diff span { display: block; padding: 0 12px; white-space: pre; }
pre.diff .add { background: var(--pass-bg); } pre.diff .del { background: var(--block-bg); }
pre.diff .hunk { color: #8250df; } pre.diff .file { font-weight: 700; }
.ok { color: var(--pass); font-weight: 600; } .bad { color: var(--block); font-weight: 700; }
.muted { color: var(--muted); } .nowrap { white-space: nowrap; }
td.wide { max-width: 380px; overflow-wrap: anywhere; } td { overflow-wrap: anywhere; }
svg { display: block; max-width: 100%; height: auto; } svg text { fill: var(--fg); } svg .axis { fill: var(--muted); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(420px, 100%), 1fr)); gap: 12px; }
details.card > summary { cursor: pointer; font-weight: 600; }
footer { color: var(--muted); font-size: 12px; margin-top: 32px; }
@media (max-width: 700px) {
  main { padding: 12px; }
  table.cards thead { display: none; }
  table.cards, table.cards tbody, table.cards tr, table.cards td { display: block; width: auto; }
  table.cards tr { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 8px; padding: 4px 0; }
  table.cards td { border: 0; padding: 2px 10px; }
  table.cards td[data-label]::before { content: attr(data-label) ": "; font-weight: 600; color: var(--muted); }
  table.cards tr.group { border: 0; } table.cards tr.group th { display: block; }
  tr[class^="sev-"] td:first-child { border-left: 0; }
}
@media print {
  :root { color-scheme: light; --bg: #fff; --card: #fff; --head: #eee; --code: #f2f2f2; }
  @page { margin: 12mm; }
  body { font-size: 10px; } main { max-width: none; padding: 0; } h2 { margin: 14px 0 4px; }
  th, td { padding: 2px 4px; } code { font-size: 9px; }
  /* the fix list carries the fixes; per-row fixes, peers and pack names would only repeat it on paper */
  #findings-table .fix, #findings-table .muted, #findings-table tr > :nth-child(7) { display: none; }
  .toolbar, .no-print, th button::after { display: none !important; }
  .card, tr, pre.diff, svg { break-inside: avoid; page-break-inside: avoid; }
  h2 { break-after: avoid; page-break-after: avoid; }
  a { color: inherit; text-decoration: none; } tr[hidden] { display: table-row !important; }
  .grid { display: block; }
}
"""

# Sorting, filtering, searching and grouping of the tables already in the page. No network, no eval, no HTML
# built from strings: rows are moved and hidden, group rows are created with textContent.
SCRIPT = r"""
(function () {
  "use strict";
  function key(row, column) {
    var cell = row.cells[column];
    if (!cell) { return ""; }
    var value = cell.getAttribute("data-sort");
    if (value === null) { value = cell.textContent.trim().toLowerCase(); }
    var number = Number(value);
    return value !== "" && !isNaN(number) ? number : value;
  }
  function compare(a, b) { return a < b ? -1 : a > b ? 1 : 0; }
  function dataRows(body) {
    return Array.prototype.filter.call(body.rows, function (r) { return !r.classList.contains("group"); });
  }
  function regroup(table, by) {
    var body = table.tBodies[0];
    Array.prototype.slice.call(body.querySelectorAll("tr.group")).forEach(function (r) { r.remove(); });
    if (!by) { return; }
    var rows = dataRows(body), last = null, width = table.tHead.rows[0].cells.length;
    rows.sort(function (a, b) {
      return compare(a.getAttribute("data-" + by), b.getAttribute("data-" + by)) ||
             compare(Number(a.getAttribute("data-order")), Number(b.getAttribute("data-order")));
    });
    rows.forEach(function (row) {
      var name = row.getAttribute("data-" + by);
      if (name !== last) {
        var group = document.createElement("tr"), cell = document.createElement("th");
        group.className = "group"; cell.colSpan = width;
        var count = rows.filter(function (r) { return r.getAttribute("data-" + by) === name; }).length;
        cell.textContent = name + " (" + count + ")";
        group.appendChild(cell); body.appendChild(group); last = name;
      }
      body.appendChild(row);
    });
  }
  function sortBy(table, column, direction) {
    var body = table.tBodies[0], rows = dataRows(body);
    rows.sort(function (a, b) {
      return direction * compare(key(a, column), key(b, column)) ||
             compare(Number(a.getAttribute("data-order")), Number(b.getAttribute("data-order")));
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      if (i === column) { th.setAttribute("aria-sort", direction > 0 ? "ascending" : "descending"); }
      else { th.removeAttribute("aria-sort"); }
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var direction = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        var grouping = document.getElementById("group-by");
        sortBy(table, column, direction);
        if (table.id === "findings-table" && grouping && grouping.value) { regroup(table, grouping.value); }
      });
    });
  });
  var table = document.getElementById("findings-table");
  if (!table) { return; }
  var search = document.getElementById("search"), severity = document.getElementById("filter-severity");
  var enforcement = document.getElementById("filter-enforcement"), grouping = document.getElementById("group-by");
  var counter = document.getElementById("shown");
  function apply() {
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean), shown = 0, rows = dataRows(table.tBodies[0]);
    rows.forEach(function (row) {
      var text = row.textContent.toLowerCase();
      var visible = (!severity.value || row.getAttribute("data-severity") === severity.value) &&
        (!enforcement.value || row.getAttribute("data-enforcement") === enforcement.value) &&
        words.every(function (w) { return text.indexOf(w) !== -1; });
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    Array.prototype.forEach.call(table.querySelectorAll("tr.group"), function (group) {
      var next = group.nextElementSibling, any = false;
      while (next && !next.classList.contains("group")) { any = any || !next.hidden; next = next.nextElementSibling; }
      group.hidden = !any;
    });
    counter.textContent = shown + " of " + rows.length + " shown";
  }
  [search, severity, enforcement].forEach(function (input) { input.addEventListener("input", apply); });
  grouping.addEventListener("change", function () {
    if (!grouping.value) { sortBy(table, 0, 1); }
    regroup(table, grouping.value); apply();
  });
  apply();
}());
"""
SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
CSP = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{SCRIPT_HASH}'"


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
    summary = view.gate_summary(doc)
    decision = "pass" if summary.passed else "block"
    icon = "✔" if summary.passed else "✖"  # plain symbols: emoji fonts are missing on many CI browsers
    sentence = summary.sentence()[len(summary.decision) + 2:]
    reasons = "".join(f"<li>{esc(r)}</li>" for r in summary.other_reasons)
    return (
        f'<section class="card gate {decision}" id="gate"><div class="decision">{icon} Gate: {summary.decision}</div>'
        f"<div>{esc(sentence)}</div>{f'<ul>{reasons}</ul>' if reasons else ''}</section>"
    )


def _where(item: dict[str, Any], base: str | None) -> str:
    """The location as code, linked to the file and line in the repository when its URL is known."""
    label = f"<code>{esc(view.location(item))}</code>"
    url = location_url(base, item.get("file"), item.get("line"))
    return f'<a href="{esc(url)}" rel="noreferrer noopener">{label}</a>' if url else label


def _policy(policy: str, url: str | None) -> str:
    label = f"<code>{esc(policy)}</code>"
    return f'<a href="{esc(url)}" rel="noreferrer noopener">{label}</a>' if url else label


def _fixes(doc: dict[str, Any], base: str | None) -> str:
    fixes = view.fixes(doc)
    if not fixes:
        return ""
    rows = []
    for fix in fixes:
        unique = _unique_targets([f.first for f in fix.findings])
        more = len(unique) - view.TARGETS_SHOWN
        links = [f"{esc(view.resource_label(t))} {_where(t, base)}" for t in unique[: view.TARGETS_SHOWN]]
        affected = f"<b>{fix.count}</b>: " + ", ".join(links) + (f" and {more} more" if more > 0 else "")
        clears = f'<b class="bad">{fix.blockers}</b>' if fix.blockers else '<span class="muted">–</span>'
        controls = "<br>".join(_policy(p, fix.url) for p in fix.policies)
        rows.append(
            f'<tr class="sev-{fix.severity}" data-order="{len(rows)}">'
            f'<td data-label="Severity" data-sort="{view.SEVERITY_RANK[fix.severity]}">'
            f"{_chip(fix.severity, SEVERITY_COLOUR[fix.severity])}</td>"
            f'<td data-label="Control(s)">{controls}</td>'
            f'<td class="num" data-label="Clears" data-sort="{-fix.blockers}">{clears}</td>'
            f'<td data-label="Affected" data-sort="{-fix.count}">{affected}</td>'
            f'<td data-label="Fix">{esc(fix.steps)}</td></tr>'
        )
    head = ("<thead><tr><th><button>Severity</button></th><th><button>Control(s)</button></th>"
            '<th class="num"><button>Clears</button></th><th><button>Affected</button></th><th>Fix</th></tr></thead>')
    return (f'<h2 id="fixes">What to fix first</h2><p class="muted">{len(fixes)} fix(es) for '
            f"{len(view.merged_findings(doc))} finding(s); “Clears” counts the blockers each fix removes.</p>"
            f'<table class="sortable cards" id="fixes-table">{head}<tbody>{"".join(rows)}</tbody></table>')


def _unique_targets(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for item in items:
        seen.setdefault(f"{view.resource_label(item)}|{view.location(item)}", item)
    return list(seen.values())


def _overrides(doc: dict[str, Any]) -> str:
    if not doc["overrides"]:
        return ""
    items = "".join(
        f"<li><b>{esc(o['who'])}</b> at {esc(o['when'])}"
        f"{' on <code>' + esc(o['control']) + '</code> (downgraded to advisory)' if o.get('control') else ''}: "
        f"{esc(o['reason'])}</li>" for o in doc["overrides"]
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


def _findings(doc: dict[str, Any], base: str | None) -> str:
    findings = view.merged_findings(doc)
    if not findings:
        return '<h2 id="findings">Policy findings</h2><p class="ok">No policy violations.</p>'
    rows = []
    for order, finding in enumerate(findings):
        v = finding.first
        policies = "<br>".join(_policy(p, finding.url) for p in finding.policies)
        peers = " ".join(f"<code>{esc(p)}</code>" for p in finding.peer_ids)
        framework = f"<b>{esc(finding.framework)}</b> " if finding.framework else ""
        steps = finding.remediation_steps
        fix = f'<div class="fix">Fix: {esc(view.clean_text(steps))}</div>' if steps else ""
        service = view.resource_label(v)
        rows.append(
            f'<tr class="sev-{finding.severity}" data-order="{order}" data-severity="{finding.severity}" '
            f'data-enforcement="{esc(finding.enforcement)}" data-service="{esc(service)}" '
            f'data-control="{esc(" + ".join(finding.policies))}">'
            f'<td data-label="Severity" data-sort="{view.SEVERITY_RANK[finding.severity]}">'
            f"{_chip(finding.severity, SEVERITY_COLOUR[finding.severity])}</td>"
            f'<td data-label="Control(s)">{policies}<div class="muted">{esc(v["pack"])}</div></td>'
            f'<td data-label="Enforcement" data-sort="{view.ENFORCEMENT_RANK[finding.enforcement]}">'
            f"{esc(finding.enforcement)}</td><td data-label=\"Resource\">{esc(service)}</td>"
            f'<td data-label="Location">{_where(v, base)}</td>'
            f'<td data-label="Message">{esc(finding.detail)}{fix}</td>'
            f'<td data-label="Framework / peers">{(framework + peers) or "–"}</td></tr>'
        )
    head = (
        "<thead><tr><th><button>Severity</button></th><th><button>Control(s)</button></th>"
        "<th><button>Enforcement</button></th><th><button>Resource</button></th><th><button>Location</button></th>"
        "<th>Message</th><th>Framework / peers</th></tr></thead>"
    )
    severities = "".join(f'<option value="{s}">{s}</option>' for s in view.SEVERITIES)
    enforcements = "".join(f'<option value="{e}">{e}</option>' for e in ("mandatory", "remediate", "advisory"))
    toolbar = (
        '<div class="toolbar" role="search">'
        '<input type="search" id="search" placeholder="Search findings (control, service, file, text)" '
        'aria-label="Search findings">'
        f'<label>Severity <select id="filter-severity"><option value="">all</option>{severities}</select></label>'
        '<label>Enforcement <select id="filter-enforcement"><option value="">all</option>'
        f"{enforcements}</select></label>"
        '<label>Group <select id="group-by"><option value="">worst first</option>'
        '<option value="service">by service</option><option value="control">by control</option></select></label>'
        f'<span id="shown" class="muted" aria-live="polite">{len(findings)} of {len(findings)} shown</span></div>'
    )
    return (f'<h2 id="findings">Policy findings ({len(findings)})</h2>{toolbar}'
            f'<table class="sortable cards" id="findings-table">{head}<tbody>{"".join(rows)}</tbody></table>')


def _remediations(doc: dict[str, Any]) -> str:
    if not doc["remediations"]:
        return ""
    blocks = "".join(
        f'<div class="card"><b>{esc(r["policy"])}</b> on {esc(r["resource_urn"].rsplit("::", 1)[-1])}'
        f"{_diff(r['diff'])}</div>"
        for r in doc["remediations"]
    )
    return f'<h2 id="remediations">Automatic remediations</h2>{blocks}'


def _label_width(labels: list[str], floor: int, ceiling: int) -> int:
    return int(min(ceiling, max(floor, CHART_CHAR_WIDTH * max((len(x) for x in labels), default=0) + 12)))


def cost_band_svg(predictions: dict[str, Any], rows: int = COST_CHART_ROWS, rate: ExchangeRate = USD) -> str:
    """One row per service (the `rows` highest P90): a bar from P10 to P90 with a tick at P50, on a shared axis."""
    services = sorted(predictions, key=lambda name: (-predictions[name]["cost_usd_month"]["p90"], name))[:rows]
    label_w, plot_w, row_h, top = _label_width(services, 80, 320), 560, 34, 24
    width = label_w + plot_w + 210  # room for the value label right of the widest bar
    height = top + row_h * len(services) + 24
    largest = max(predictions[s]["cost_usd_month"]["p90"] for s in services) or 1.0

    def money(amount: float) -> str:
        return view.money(amount, rate)

    def x(amount: float) -> float:
        return label_w + amount / largest * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="Monthly cost bands P10 to P90 per service">',
        f'<text x="{label_w}" y="14" font-size="11" class="axis">{esc(money(0))}</text>',
        f'<text x="{_num(x(largest))}" y="14" font-size="11" class="axis" text-anchor="end">'
        f"{esc(money(largest))}</text>",
        f'<line x1="{label_w}" y1="{top - 4}" x2="{_num(x(largest))}" y2="{top - 4}" stroke="#8c959f"/>',
    ]
    for row, service in enumerate(services):
        band = predictions[service]["cost_usd_month"]
        y = top + row * row_h
        mid = y + row_h / 2
        p10, p50, p90 = x(band["p10"]), x(band["p50"]), x(band["p90"])
        parts += [
            f'<text x="{label_w - 8}" y="{_num(mid + 4)}" font-size="12" text-anchor="end">{esc(service)}</text>',
            f'<rect x="{_num(p10)}" y="{_num(mid - 8)}" width="{_num(max(p90 - p10, 2))}" height="16" rx="3" '
            f'fill="#54aeff" fill-opacity="0.45"><title>{esc(service)}: P10 {esc(money(band["p10"]))}, '
            f"P50 {esc(money(band['p50']))}, P90 {esc(money(band['p90']))}</title></rect>",
            f'<line x1="{_num(p50)}" y1="{_num(mid - 11)}" x2="{_num(p50)}" y2="{_num(mid + 11)}" '
            'stroke="#0550ae" stroke-width="3"/>',
            f'<text x="{_num(p90 + 6)}" y="{_num(mid + 4)}" font-size="11">'
            f'{esc(money(band["p50"]))} <tspan class="axis">({esc(money(band["p10"]))}–'
            f"{esc(money(band['p90']))})</tspan></text>",
        ]
    note = f" · the {len(services)} highest P90 of {len(predictions)}" if len(services) < len(predictions) else ""
    parts.append(
        f'<text x="{label_w}" y="{height - 6}" font-size="11" class="axis">bar: P10–P90 · tick: P50 · '
        f"{rate.code} per month{esc(note)}</text></svg>"
    )
    return "".join(parts)


def contributions_svg(title: str, contributions: dict[str, float] | None) -> str:
    """Diverging horizontal bars around zero: red pushes the prediction up, green pulls it down."""
    top = view.top_contributions(contributions)
    if not top:
        return ""
    # Feature names are long ("requests_per_month: peak_concurrency_p10_log10"): the label column fits them.
    label_w, value_w, half, row_h, head = _label_width([c.feature for c in top], 60, 330), 40, 110, 20, 22
    width = label_w + 2 * (value_w + half)
    height = head + row_h * len(top) + 6
    largest = max(abs(c.value) for c in top) or 1.0
    zero = label_w + value_w + half  # value_w keeps a negative bar's number clear of the feature names
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{esc(title)}">',
        f'<text x="0" y="14" font-size="12" font-weight="600">{esc(title)}</text>',
        f'<line x1="{zero}" y1="{head - 2}" x2="{zero}" y2="{height - 2}" stroke="#8c959f"/>',
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
            f'<text x="{_num(value_x)}" y="{y + 13}" font-size="10" class="axis" text-anchor="{anchor}">'
            f"{contribution.value:+.2f}</text>",
        ]
    parts.append("</svg>")
    return "".join(parts)


def _risk_cell(prediction: dict[str, Any], key: str, label: str) -> str:
    probability = view.risk_probability(prediction, key)
    if probability is None:
        return f'<td class="num muted" data-label="{label}" data-sort="-1">–</td>'
    css = "bad" if probability >= 0.5 else "" if probability >= 0.2 else "ok"
    synthetic = ' <span class="muted">(synthetic)</span>' if prediction[key].get("synthetic_training") else ""
    return (f'<td class="num" data-label="{label}" data-sort="{probability}"><span class="{css}">'
            f"{esc(view.percent(probability))}</span>{synthetic}</td>")


def _predictions(doc: dict[str, Any]) -> str:
    predictions = doc["predictions"]
    if not predictions:
        return ""
    rate = view.exchange(doc)

    def money(amount: float) -> str:
        return view.money(amount, rate)

    rows = []
    for order, service in enumerate(sorted(predictions)):
        p = predictions[service]
        band = p["cost_usd_month"]
        rows.append(
            f'<tr data-order="{order}"><td data-label="Service">{esc(service)}</td>'
            f'<td data-label="Kind">{esc(p["kind"])}</td>'
            f'<td class="num" data-label="P10" data-sort="{band["p10"]}">{esc(money(band["p10"]))}</td>'
            f'<td class="num" data-label="P50" data-sort="{band["p50"]}"><b>{esc(money(band["p50"]))}</b></td>'
            f'<td class="num" data-label="P90" data-sort="{band["p90"]}">{esc(money(band["p90"]))}</td>'
            f'<td data-label="Workload from">{esc((p.get("workload") or {}).get("source", "–"))}</td>'
            f"{_risk_cell(p, 'capacity_risk', 'Capacity risk')}{_risk_cell(p, 'change_risk', 'Change risk')}</tr>"
        )
    head = (
        '<thead><tr><th><button>Service</button></th><th><button>Kind</button></th><th class="num"><button>P10'
        '</button></th><th class="num"><button>P50</button></th><th class="num"><button>P90</button></th>'
        '<th><button>Workload from</button></th><th class="num"><button>Capacity risk</button></th>'
        '<th class="num"><button>Change risk</button></th></tr></thead>'
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
            is_open = " open" if len(predictions) <= 3 else ""
            charts.append(f'<details class="card"{is_open}><summary>{esc(service)}</summary>{body}</details>')
    totals = {q: sum(p["cost_usd_month"][q] for p in predictions.values()) for q in ("p10", "p50", "p90")}
    return (
        f'<h2 id="predictions">Cost ({rate.code} / month) and risk</h2>'
        f'<p id="currency">{esc(view.currency_sentence(doc))}</p>'
        f'<p>Stack total: P10 {esc(money(totals["p10"]))} · <b>P50 {esc(money(totals["p50"]))}</b> · '
        f'P90 {esc(money(totals["p90"]))} over {len(predictions)} services '
        '<span class="muted">(quantiles do not add exactly; a guide)</span></p>'
        f'<div class="card scroll">{cost_band_svg(predictions, rate=rate)}</div>'
        f'<table class="sortable cards" id="predictions-table">{head}<tbody>{"".join(rows)}</tbody></table>'
        '<div class="no-print"><h3>Per-feature contributions</h3><p class="muted">XGBoost <code>pred_contribs</code> '
        "in each model's output units; red pushes the prediction up, green pulls it down.</p>"
        f'<div class="grid">{"".join(charts)}</div></div>'
    )


def _supply_chain(doc: dict[str, Any]) -> str:
    if not doc["supply_chain"]:
        return ""
    rows = []
    # Unverified first: those are what a reviewer must act on.
    entries = sorted(doc["supply_chain"], key=lambda e: (e["verified"], e["service"], e["artifact"]))
    for order, entry in enumerate(entries):
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
            f'<tr data-order="{order}"><td data-label="Service">{esc(entry["service"])}</td>'
            f'<td data-label="Artifact"><code>{esc(entry["artifact"])}</code></td>'
            f'<td data-label="Kind">{esc(entry["kind"])}</td>'
            f'<td class="nowrap" data-label="Signature" data-sort="{int(entry["verified"])}">{status}</td>'
            f'<td class="wide" data-label="Signer / reason">{detail}</td><td data-label="Digest">{digest}</td>'
            f'<td data-label="Vulnerabilities">{esc(view.vulnerability_summary(entry))}</td></tr>'
        )
    head = (
        "<thead><tr><th><button>Service</button></th><th><button>Artifact</button></th><th><button>Kind</button></th>"
        "<th><button>Signature</button></th><th>Signer / reason</th><th>Digest</th>"
        "<th><button>Vulnerabilities</button></th></tr></thead>"
    )
    unverified = sum(1 for e in entries if not e["verified"])
    return (f'<h2 id="supply-chain">Supply chain ({unverified} of {len(entries)} not verified)</h2>'
            f'<table class="sortable cards" id="supply-chain-table">{head}<tbody>{"".join(rows)}</tbody></table>')


def _comparison(doc: dict[str, Any], base: str | None) -> str:
    comparison = doc.get("comparison")
    if not comparison:
        return ""
    rate = view.exchange(doc)

    def signed(amount: float) -> str:
        return esc(signed_money(amount, rate))

    rows = "".join(
        f'<tr><td data-label="Service">{esc(s["service"])}</td><td data-label="Change">{esc(s["change"])}</td>'
        f'<td class="num" data-label="Δ P50" data-sort="{s["delta"]["p50"]}">{signed(s["delta"]["p50"])}</td>'
        f'<td class="num" data-label="Δ P90" data-sort="{s["delta"]["p90"]}">{signed(s["delta"]["p90"])}</td>'
        "</tr>" for s in comparison["cost"]["services"] if s["change"] != "unchanged")
    new = "".join(
        f"<li>{_chip(f['severity'], SEVERITY_COLOUR[f['severity']])} <code>{esc(f['policy'])}</code> "
        f"{esc(f['resource_name'] or 'stack')} {_where(f, base)}</li>" for f in comparison["findings"]["new"])
    table = ('<table class="sortable cards" id="cost-diff"><thead><tr><th><button>Service</button></th>'
             '<th><button>Change</button></th><th class="num"><button>Δ P50</button></th>'
             f'<th class="num"><button>Δ P90</button></th></tr></thead><tbody>{rows}</tbody></table>') if rows else ""
    return (f'<h2 id="comparison">Against the base report</h2><p>{esc(comparison_sentence(comparison, rate))}</p>'
            f"{table}" + (f'<h3>New findings</h3><ul id="new-findings">{new}</ul>' if new else ""))


def _observed(doc: dict[str, Any]) -> str:
    observed = doc.get("observed")
    if not observed:
        return ""

    def band(entry: dict[str, Any], key: str) -> str:
        b = entry["bands"].get(key)
        if not b:
            return "–"
        return f"{b['coverage'] * 100:.0f}% · ×{b['bias']:.2f}" + (" ⚠" if b.get("drifted") else "")

    rows = "".join(
        f'<tr><td data-label="Service">{esc(name)}</td><td data-label="Status">{esc(e["status"])}</td>'
        f'<td data-label="Requests">{esc(band(e, "requests_per_month"))}</td>'
        f'<td data-label="Duration">{esc(band(e, "mean_duration_ms"))}</td>'
        f'<td data-label="Cost">{esc(band(e, "cost_usd_month"))}</td>'
        f'<td data-label="Advice">{esc(e.get("advice") or e.get("reason") or "–")}</td></tr>'
        for name, e in observed["services"].items())
    items = "".join(f"<li><b>{esc(label)}</b> {esc(i['service'])}: {esc(i['text'])}</li>"
                    for key, label in (("anomalies", "anomaly"), ("idle", "idle"), ("proposals", "proposal"))
                    for i in observed[key])
    return (f'<h2 id="observed">Observed vs predicted</h2><p>{esc(observed_sentence(observed))}</p>'
            '<table class="sortable cards" id="observed-table"><thead><tr><th><button>Service</button></th>'
            "<th><button>Status</button></th><th>Requests (coverage · bias)</th><th>Duration</th><th>Cost</th>"
            f"<th>Advice</th></tr></thead><tbody>{rows}</tbody></table>" + (f"<ul>{items}</ul>" if items else ""))


def render_html(doc: Any, *, source_base: str | None = None) -> str:
    """The whole report as one HTML page (UTF-8 text).

    source_base: where declarations can be opened (`links.blob_base`, e.g. a GitHub blob URL); locations become
        links to file and line. Without it they are plain text."""
    report = prepare_report(doc)
    title = f"preflight {report['gate']['decision']}: {report['project']}/{report['stack']}"
    body = "".join(
        [
            _header(report),
            _gate(report),
            _overrides(report),
            _errors(report),
            _comparison(report, source_base),
            _fixes(report, source_base),
            _findings(report, source_base),
            _remediations(report),
            _predictions(report),
            _observed(report),
            _supply_chain(report),
            f"<footer>report schema {esc(report['schema_version'])} · {esc(view.headline(report))}</footer>",
        ]
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main><script>{SCRIPT}</script></body></html>\n"
    )
