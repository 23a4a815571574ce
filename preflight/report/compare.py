"""What changed against a base report (`--compare-to`): the cost diff and the findings a change introduces.

A pull request is reviewed against what main already is, so the comment leads with *its* effect: which services
cost more or less (P10/P50/P90 per service and for the stack) and which findings are new or resolved. The base is a
preflight report JSON of the same project (typically main's `out/preflight-<stack>.json`, kept as a CI artifact).
Findings are matched by the same stable identity code scanning uses (`sarif.fingerprints`: pack, rule, resource
URN, field path), never by message text, so a changed dollar amount in a message is not a "new" finding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from guardrails_core.safe_input import UnsafeInputError, json_input_problem, read_json_bounded
from guardrails_predict.pricing.currency import USD, ExchangeRate

from preflight.report import view
from preflight.report.sarif import fingerprints
from preflight.report.schema import ReportValidationError, validate_report

QUANTILES = ("p10", "p50", "p90")


class BaseReportError(ValueError):
    """The base report cannot be used (the message names the file and what is wrong)."""


def load_base_report(path: Path, *, project: str) -> dict[str, Any]:
    """Read and validate a base report; refuse one of another project (its findings would all look new)."""
    if not path.exists():
        raise BaseReportError(f"{path}: --compare-to: no such file (a preflight report JSON, e.g. main's "
                              "out/preflight-<stack>.json)")
    try:
        doc = read_json_bounded(path)
    except UnsafeInputError as exc:
        raise BaseReportError(json_input_problem(path, "--compare-to", exc)) from None
    return checked_base_report(doc, str(path), project=project)


def checked_base_report(doc: Any, source: str, *, project: str) -> dict[str, Any]:
    """`doc` if it is a valid preflight report of `project` (a base of another project would make every finding
    look new)."""
    try:
        validate_report(doc, source)
    except ReportValidationError as exc:
        raise BaseReportError(f"--compare-to: not a preflight report: {exc}") from None
    if doc["project"] != project:
        raise BaseReportError(f"{source}: --compare-to: report of project {doc['project']!r}, not {project!r}")
    return doc


def _stack_file(doc: dict[str, Any]) -> str:
    return f"stacks/Pulumi.{doc['stack']}.yaml"


def _keyed(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    violations = [v for v in view.sorted_violations(doc) if v["enforcement"] != "disabled"]
    return dict(zip(fingerprints(violations, _stack_file(doc)), violations, strict=True))


def _finding_entry(violation: dict[str, Any]) -> dict[str, Any]:
    return {key: violation.get(key) for key in ("policy", "severity", "enforcement", "resource_name", "file", "line")}


def _band(prediction: dict[str, Any] | None) -> dict[str, float] | None:
    return {q: float(prediction["cost_usd_month"][q]) for q in QUANTILES} if prediction else None


def _line_item_deltas(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, dict[str, float]]:
    """Line item -> {base, head, delta} (a line only one side has counts as 0 on the other); {} when neither
    report carries line items (reports written before they existed)."""
    old, new = (before or {}).get("line_items") or {}, (after or {}).get("line_items") or {}
    return {item: {"base": old.get(item, 0.0), "head": new.get(item, 0.0),
                   "delta": round(new.get(item, 0.0) - old.get(item, 0.0), 2)} for item in sorted({*old, *new})}


def line_item_moves(entry: dict[str, Any], rate: ExchangeRate = USD, limit: int = 2) -> str:
    """'duration +$19.20, requests +$0.40': the lines that moved most (P50 workload), for the diff tables."""
    items = [(name, d["delta"]) for name, d in (entry.get("line_items") or {}).items() if abs(d["delta"]) >= 0.005]
    items.sort(key=lambda pair: (-abs(pair[1]), pair[0]))
    text = ", ".join(f"{name.replace('_', ' ')} {signed_money(delta, rate)}" for name, delta in items[:limit])
    return text + (f" (+{len(items) - limit} more)" if len(items) > limit else "") if items else "–"


def compare_reports(head: dict[str, Any], base: dict[str, Any], base_label: str) -> dict[str, Any]:
    """The report's `comparison` section: per-service cost deltas (largest P50 move first) and new/resolved
    findings. Services in only one report are `added`/`removed`; their whole cost is the delta."""
    services = []
    for name in sorted(set(head["predictions"]) | set(base["predictions"])):
        before, after = _band(base["predictions"].get(name)), _band(head["predictions"].get(name))
        change = "added" if before is None else "removed" if after is None else "changed"
        delta = {q: (after or {}).get(q, 0.0) - (before or {}).get(q, 0.0) for q in QUANTILES}
        if change == "changed" and all(abs(d) < 0.005 for d in delta.values()):
            change = "unchanged"
        entry = {"service": name, "change": change, "base": before, "head": after,
                 "delta": {q: round(d, 2) for q, d in delta.items()}}
        items = _line_item_deltas(base["predictions"].get(name), head["predictions"].get(name))
        if items:
            entry["line_items"] = items
        services.append(entry)
    services.sort(key=lambda s: (-abs(s["delta"]["p50"]), s["service"]))
    totals = {side: {q: round(sum(p["cost_usd_month"][q] for p in doc["predictions"].values()), 2)
                     for q in QUANTILES} for side, doc in (("base", base), ("head", head))}
    head_findings, base_findings = _keyed(head), _keyed(base)
    new = [_finding_entry(v) for k, v in head_findings.items() if k not in base_findings]
    resolved = [_finding_entry(v) for k, v in base_findings.items() if k not in head_findings]
    return {
        "base": {"source": base_label, "stack": base["stack"], "generated_at": base["generated_at"]},
        "cost": {"total": {**totals, "delta": {q: round(totals["head"][q] - totals["base"][q], 2)
                                               for q in QUANTILES}},
                 "services": services},
        "findings": {"new": new, "resolved": resolved,
                     "unchanged": len(set(head_findings) & set(base_findings))},
    }


def signed_money(amount: float, rate: ExchangeRate = USD) -> str:
    """A USD delta in the report's currency (`view.money`), with its sign."""
    return ("+" if amount > 0 else "−" if amount < 0 else "±") + view.money(abs(amount), rate)


def comparison_sentence(comparison: dict[str, Any], rate: ExchangeRate = USD) -> str:
    """One line for the terminal and the job log (deltas are computed in USD, shown at the head's rate)."""
    delta = comparison["cost"]["total"]["delta"]
    findings = comparison["findings"]
    changed = sum(1 for s in comparison["cost"]["services"] if s["change"] != "unchanged")
    return (f"vs base {comparison['base']['source']} ({comparison['base']['generated_at']}): cost P50 "
            f"{signed_money(delta['p50'], rate)}/month (P10 {signed_money(delta['p10'], rate)}, P90 "
            f"{signed_money(delta['p90'], rate)}) "
            f"across {changed} changed service(s); {len(findings['new'])} new findings, "
            f"{len(findings['resolved'])} resolved, {findings['unchanged']} unchanged")
