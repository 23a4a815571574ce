"""Risk ranking of vulnerability findings in the context of the service that ships them, and the block rules.

Score (0-100) = severity base + network reachability + fix availability + exposure + data classification.
Each part is listed in `reasons`, so a reviewer can see why a finding got its rank. Ranks: P1 >= 80,
P2 >= 60, P3 >= 40, else P4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guardrails_core.settings import BlockRule

from guardrails_supply_chain.vulns import SEVERITY_ORDER, Vulnerability

SEVERITY_POINTS = {"critical": 40, "high": 30, "medium": 20, "low": 10, "unknown": 15}
NETWORK_POINTS = 20  # AV:N: reachable by anyone who can reach the service
FIX_POINTS = 10  # a fixed version exists, so the finding is actionable now
EXPOSURE_POINTS = {"public": 15, "cluster-local": 0}
CLASSIFICATION_POINTS = {"public": 0, "internal": 5, "confidential": 10, "restricted": 15}
RANK_THRESHOLDS = (("P1", 80), ("P2", 60), ("P3", 40))
RANK_ORDER = {"P1": 4, "P2": 3, "P3": 2, "P4": 1}


@dataclass(frozen=True)
class RankedVulnerability:
    vuln: Vulnerability
    score: int
    rank: str
    reasons: tuple[str, ...]
    blocked: bool
    block_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        v = self.vuln
        return {
            "id": v.id,
            "severity": v.severity,
            "package": v.package,
            "installed": v.installed,
            "fixed": v.fixed,
            "cvss_vector": v.cvss_vector,
            "network": v.network,
            "fixable": v.fixable,
            "score": self.score,
            "rank": self.rank,
            "reasons": list(self.reasons),
            "blocked": self.blocked,
            "block_reason": self.block_reason,
        }


def score_vulnerability(vuln: Vulnerability, exposure: str, classification: str) -> tuple[int, str, list[str]]:
    reasons = [f"severity {vuln.severity} (+{SEVERITY_POINTS[vuln.severity]})"]
    score = SEVERITY_POINTS[vuln.severity]
    if vuln.network:
        score += NETWORK_POINTS
        reasons.append(f"network-exploitable AV:N (+{NETWORK_POINTS})")
    else:
        reasons.append("not network-exploitable (+0)" if vuln.cvss_vector else "no CVSS vector (+0)")
    if vuln.fixable:
        score += FIX_POINTS
        reasons.append(f"fix available: {vuln.fixed} (+{FIX_POINTS})")
    else:
        reasons.append("no fix available yet (+0)")
    exposure_points = EXPOSURE_POINTS.get(exposure, EXPOSURE_POINTS["public"])
    score += exposure_points
    reasons.append(f"exposure {exposure} (+{exposure_points})")
    # Unknown classification levels count as the most sensitive: fail closed.
    class_points = CLASSIFICATION_POINTS.get(classification, CLASSIFICATION_POINTS["restricted"])
    score += class_points
    reasons.append(f"data classification {classification} (+{class_points})")
    score = min(score, 100)
    rank = next((name for name, floor in RANK_THRESHOLDS if score >= floor), "P4")
    return score, rank, reasons


def _rule_matches(rule: BlockRule, vuln: Vulnerability, rank: str, exposure: str, classification: str) -> bool:
    if rule.min_severity is not None and SEVERITY_ORDER[vuln.severity] < SEVERITY_ORDER[rule.min_severity]:
        return False
    if rule.min_rank is not None and RANK_ORDER[rank] < RANK_ORDER[rule.min_rank]:
        return False
    if rule.fixable is not None and vuln.fixable != rule.fixable:
        return False
    if rule.network is not None and vuln.network != rule.network:
        return False
    if rule.exposure is not None and exposure != rule.exposure:
        return False
    if rule.classifications is not None and classification not in rule.classifications:
        return False
    return True


def describe_rule(rule: BlockRule) -> str:
    parts = [f"{k}={v}" for k, v in rule.model_dump(exclude_none=True).items()]
    return "{" + ", ".join(parts) + "}" if parts else "{any}"


def rank_vulnerabilities(
    vulns: list[Vulnerability], exposure: str, classification: str, rules: list[BlockRule]
) -> list[RankedVulnerability]:
    """Ranked findings, highest score first (ties broken by id for stable output)."""
    ranked = []
    for vuln in vulns:
        score, rank, reasons = score_vulnerability(vuln, exposure, classification)
        matched = next((r for r in rules if _rule_matches(r, vuln, rank, exposure, classification)), None)
        ranked.append(
            RankedVulnerability(
                vuln=vuln,
                score=score,
                rank=rank,
                reasons=tuple(reasons),
                blocked=matched is not None,
                block_reason=f"matches block rule {describe_rule(matched)}" if matched is not None else None,
            )
        )
    ranked.sort(key=lambda r: (-r.score, r.vuln.id, r.vuln.package))
    return ranked
