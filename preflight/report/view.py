"""Presentation helpers shared by all renderers, so the four outputs order, label and round things the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
ENFORCEMENT_RANK = {"mandatory": 0, "remediate": 1, "advisory": 2, "disabled": 3}
VULNERABILITY_LEVELS: tuple[str, ...] = ("critical", "high", "medium", "low", "unknown")
BIAS_KEY = "bias"  # XGBoost pred_contribs appends the base value as the last column; predict names it "bias"
TOP_CONTRIBUTIONS = 6


def violation_sort_key(violation: dict[str, Any]) -> tuple[Any, ...]:
    """Worst first: severity, then mandatory before advisory, then by place in the repo, then policy."""
    return (
        SEVERITY_RANK[violation["severity"]],
        ENFORCEMENT_RANK[violation["enforcement"]],
        violation.get("file") or "~",  # stack-level findings (no file) after file-level ones
        violation.get("line") or 0,
        violation["policy"],
        violation.get("resource_name") or "",
        violation["message"],
    )


def sorted_violations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(doc["violations"], key=violation_sort_key)


def violations_by_severity(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Severity -> violations (worst first), only severities that occur, in severity order."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for violation in sorted_violations(doc):
        grouped.setdefault(violation["severity"], []).append(violation)
    return grouped


def location(item: dict[str, Any]) -> str:
    """`services/x.yaml:12`, `services/x.yaml`, or `(stack)` for findings that name no declaration."""
    file = item.get("file")
    if not file:
        return "(stack)"
    line = item.get("line")
    return f"{file}:{line}" if line else file


def resource_label(violation: dict[str, Any]) -> str:
    return violation.get("resource_name") or ("(stack)" if violation.get("resource_urn") is None else "?")


def usd(amount: float) -> str:
    """Monthly dollars: cents below $100 (small functions matter), whole dollars above."""
    return f"${amount:,.2f}" if amount < 100 else f"${amount:,.0f}"


def percent(probability: float) -> str:
    return f"{probability * 100:.0f}%"


@dataclass(frozen=True)
class Contribution:
    feature: str
    value: float


def flat_contributions(contributions: dict[str, Any]) -> dict[str, float]:
    """Multi-output models give {target: {feature: value}}; show them as "target: feature"."""
    flat: dict[str, float] = {}
    for key, value in contributions.items():
        if isinstance(value, dict):
            flat.update({f"{key}: {feature}": v for feature, v in value.items() if feature != BIAS_KEY})
        else:
            flat[key] = value
    return flat


def top_contributions(contributions: dict[str, float] | None, limit: int = TOP_CONTRIBUTIONS) -> list[Contribution]:
    """The features that moved the prediction most (by absolute value), the bias term left out."""
    if not contributions:
        return []
    ranked = sorted(
        (Contribution(feature, value) for feature, value in flat_contributions(contributions).items()
         if feature != BIAS_KEY and not feature.endswith(f".{BIAS_KEY}")),
        key=lambda c: (-abs(c.value), c.feature),
    )
    return ranked[:limit]


def risk_probability(prediction: dict[str, Any], key: str) -> float | None:
    risk = prediction.get(key)
    return None if not risk else risk["probability"]


def vulnerability_counts(entry: dict[str, Any]) -> dict[str, int] | None:
    """Counts by level whether the supply-chain step gave counts or a list of findings; None when not scanned."""
    vulnerabilities = entry.get("vulnerabilities")
    if vulnerabilities is None:
        return None
    if isinstance(vulnerabilities, list):
        counts = dict.fromkeys(VULNERABILITY_LEVELS, 0)
        for item in vulnerabilities:
            counts[item["severity"]] += 1
        return counts
    return {level: int(vulnerabilities.get(level, 0)) for level in VULNERABILITY_LEVELS}


def vulnerability_summary(entry: dict[str, Any]) -> str:
    counts = vulnerability_counts(entry)
    if counts is None:
        return "not scanned"
    parts = [f"{counts[level]} {level}" for level in VULNERABILITY_LEVELS if counts[level]]
    return ", ".join(parts) if parts else "none"


def remediation_for(doc: dict[str, Any], urn: str) -> list[dict[str, Any]]:
    return [r for r in doc["remediations"] if r["resource_urn"] == urn]


def summary_counts(doc: dict[str, Any]) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for violation in doc["violations"]:
        counts[violation["severity"]] += 1
    return counts


def headline(doc: dict[str, Any]) -> str:
    """One plain sentence used by every format: decision, findings, resources."""
    counts = summary_counts(doc)
    found = ", ".join(f"{n} {sev}" for sev, n in counts.items() if n) or "no policy violations"
    decision = "PASS" if doc["gate"]["decision"] == "pass" else "BLOCK"
    overridden = " (overridden)" if doc["overrides"] else ""
    return (
        f"preflight {decision}{overridden}: {doc['project']}/{doc['stack']} ({doc['environment']}, "
        f"{doc['engine']} engine), {doc['resources']['count']} resources, {found}"
    )
