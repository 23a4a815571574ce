"""Presentation helpers shared by all renderers, so the four outputs order, label and round things the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guardrails_predict.pricing.currency import ExchangeRate

from preflight.gate import BLOCKING, MANDATORY_REASON_PREFIX, REASON_TARGETS

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


def exchange(doc: dict[str, Any]) -> ExchangeRate:
    """The report's stated rate (`currency`; a report without one is in USD)."""
    return ExchangeRate.from_dict(doc.get("currency"))


def money(usd_amount: float, rate: ExchangeRate) -> str:
    """A USD figure of the report in its currency, converted exactly as the JSON's `cost` (rounded USD x the stated
    rate, to the cent), then shown like `usd`: cents below 100, whole units above."""
    amount = rate.convert(usd_amount)
    if rate.code == "USD":
        return usd(amount)
    return f"{amount:,.2f} {rate.code}" if amount < 100 else f"{amount:,.0f} {rate.code}"


def currency_sentence(doc: dict[str, Any]) -> str:
    """Which currency the figures are in, at what rate, of which day, from where (every report says it)."""
    return exchange(doc).sentence()


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


# --- What to fix first -------------------------------------------------------------------------------------------
# Controls that ask for the very same change on a resource: shown as one finding carrying both ids, so a reviewer
# reads (and fixes) it once. Only pairs whose fix is identical belong here; img-digest-pinned and
# sc-artifact-signed stay apart because pinning a digest does not sign the artifact.
RELATED_CONTROLS: tuple[frozenset[str], ...] = (
    frozenset({"dc-confidential-cluster-local", "kn-visibility-cluster-local"}),
)
TARGETS_SHOWN = REASON_TARGETS  # affected services per fix before "and N more"
_DETAIL_PREFIX = re.compile(r"^\[(?P<id>[\w.-]+)\] ")
_PYTHON_NONE = re.compile(r"\bNone\b")
# An absolute POSIX path (at least two components) not inside a word or URL: `/work/repo/functions/x`.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/(?:[\w.@+-]+/)+[\w.@+-]+")


def control_key(policy: str) -> str:
    """Pulumi policy names use dashes, the pack's control ids dots: `kn.visibility-cluster-local` == the dashed."""
    return policy.replace(".", "-")


def _merge_group(policy: str) -> frozenset[str]:
    key = control_key(policy)
    for group in RELATED_CONTROLS:
        if key in group:
            return group
    return frozenset({key})


def clean_text(text: str, repo_root: str | Path | None = None) -> str:
    """Text fit for a reviewer: paths relative to the repository, Python's `None` said in words."""
    if repo_root is not None:
        root = str(repo_root).rstrip("/") + "/"
        text = text.replace(root, "")
    # Paths outside the repository mean nothing on another machine (and leak runner layout): keep the name only.
    text = _ABSOLUTE_PATH.sub(lambda m: "…/" + m.group(0).rsplit("/", 1)[-1], text)
    return _PYTHON_NONE.sub("unset", text)


def split_message(message: str) -> tuple[str | None, str]:
    """CrossGuard messages are `<control description>\\n[<control.id>] <what is wrong here>`: (description, detail).

    The description is the same for every resource a control flags, so lists show the detail only."""
    head, newline, rest = message.partition("\n")
    if newline:
        match = _DETAIL_PREFIX.match(rest)
        if match:
            return head, rest[match.end():]
    match = _DETAIL_PREFIX.match(message)
    return (None, message[match.end():]) if match else (None, message)


def detail(violation: dict[str, Any]) -> str:
    return clean_text(split_message(violation["message"])[1])


@dataclass
class Finding:
    """One problem on one resource: a violation, or several related ones that ask for the same change."""

    violations: list[dict[str, Any]]

    @property
    def first(self) -> dict[str, Any]:
        return self.violations[0]

    @property
    def policies(self) -> list[str]:
        return list(dict.fromkeys(v["policy"] for v in self.violations))

    @property
    def severity(self) -> str:
        return self.first["severity"]

    @property
    def enforcement(self) -> str:
        return min((v["enforcement"] for v in self.violations), key=ENFORCEMENT_RANK.__getitem__)

    @property
    def blocking(self) -> bool:
        return self.enforcement == BLOCKING

    @property
    def detail(self) -> str:
        return "; ".join(dict.fromkeys(detail(v) for v in self.violations))

    @property
    def remediation_steps(self) -> str | None:
        return next((v["remediation_steps"] for v in self.violations if v.get("remediation_steps")), None)

    @property
    def url(self) -> str | None:
        return next((v["url"] for v in self.violations if v.get("url")), None)

    @property
    def peer_ids(self) -> list[str]:
        return list(dict.fromkeys(p for v in self.violations for p in v.get("peer_ids") or []))

    @property
    def framework(self) -> str | None:
        return next((v["framework"] for v in self.violations if v.get("framework")), None)

    @property
    def target(self) -> str:
        """`service (services/x.yaml:12)` — who is affected and where to change it."""
        where = location(self.first)
        return resource_label(self.first) + ("" if where == "(stack)" else f" ({where})")


def merged_findings(doc: dict[str, Any]) -> list[Finding]:
    """Violations (worst first) with related ones on the same resource merged into one finding.

    Only violations of *different* related controls merge: two findings of one control on one resource (say two
    containers) stay two."""
    findings: list[Finding] = []
    open_slots: dict[tuple[Any, ...], list[Finding]] = {}
    for violation in sorted_violations(doc):
        key = (violation.get("resource_urn"), violation.get("file"), _merge_group(violation["policy"]))
        slots = open_slots.setdefault(key, [])
        home = next((f for f in slots if violation["policy"] not in f.policies), None) if len(key[2]) > 1 else None
        if home is not None:
            home.violations.append(violation)
            continue
        finding = Finding([violation])
        slots.append(finding)
        findings.append(finding)
    return findings


@dataclass
class Fix:
    """One change a reviewer can make (a control, or related controls, and its fix) and everything it clears."""

    findings: list[Finding]

    @property
    def policies(self) -> list[str]:
        return list(dict.fromkeys(p for f in self.findings for p in f.policies))

    @property
    def severity(self) -> str:
        return min((f.severity for f in self.findings), key=SEVERITY_RANK.__getitem__)

    @property
    def steps(self) -> str:
        """What to do: the control's remediation steps, else what the first finding says is wrong."""
        first = self.findings[0]
        return clean_text(first.remediation_steps or first.detail)

    @property
    def blockers(self) -> int:
        """Mandatory violations this fix clears (what the gate decision hangs on)."""
        return sum(1 for f in self.findings for v in f.violations if v["enforcement"] == BLOCKING)

    @property
    def count(self) -> int:
        return len(self.findings)

    @property
    def url(self) -> str | None:
        return next((f.url for f in self.findings if f.url), None)

    def targets(self, limit: int = TARGETS_SHOWN) -> tuple[list[str], int]:
        """The first `limit` affected services (with file:line) and how many more there are."""
        unique = list(dict.fromkeys(f.target for f in self.findings))
        return unique[:limit], max(0, len(unique) - limit)

    def targets_text(self, limit: int = TARGETS_SHOWN) -> str:
        shown, more = self.targets(limit)
        return ", ".join(shown) + (f" and {more} more" if more else "")

    def sort_key(self) -> tuple[Any, ...]:
        # Blocking fixes first (the gate decision hangs on them), then by severity, then by what each clears.
        return (self.blockers == 0, SEVERITY_RANK[self.severity], -self.blockers, -self.count, self.policies)


def fixes(doc: dict[str, Any]) -> list[Fix]:
    """One entry per (control or related controls, fix), ordered by blocking, severity and blockers cleared."""
    grouped: dict[tuple[Any, ...], list[Finding]] = {}
    for finding in merged_findings(doc):
        key = (_merge_group(finding.first["policy"]), finding.remediation_steps or finding.first["policy"])
        grouped.setdefault(key, []).append(finding)
    return sorted((Fix(items) for items in grouped.values()), key=Fix.sort_key)


@dataclass(frozen=True)
class GateSummary:
    passed: bool
    blockers: int  # mandatory violations
    blocking_fixes: int  # distinct fixes that clear them
    other_reasons: list[str]  # engine errors, budget / risk / supply-chain limits: each shown in full
    overridden: bool

    @property
    def decision(self) -> str:
        return "PASS" if self.passed else "BLOCK"

    def sentence(self) -> str:
        if self.passed:
            return "PASS: nothing blocks `pulumi up`" + (" (override recorded)" if self.overridden else "")
        parts = []
        if self.blockers:
            parts.append(f"{self.blockers} mandatory violation(s), cleared by {self.blocking_fixes} fix(es)")
        if self.other_reasons:
            parts.append(f"{len(self.other_reasons)} other reason(s)")
        overridden = " (overridden on record)" if self.overridden else ""
        return f"BLOCK{overridden}: `pulumi up` must not run — " + "; ".join(parts or ["see the reasons"])


def gate_summary(doc: dict[str, Any]) -> GateSummary:
    all_fixes = fixes(doc)
    others = [r for r in doc["gate"]["reasons"] if not r.startswith(MANDATORY_REASON_PREFIX)]
    return GateSummary(
        passed=doc["gate"]["decision"] == "pass",
        blockers=sum(f.blockers for f in all_fixes),
        blocking_fixes=sum(1 for f in all_fixes if f.blockers),
        other_reasons=[clean_text(r) for r in others],
        overridden=bool(doc["overrides"]),
    )
