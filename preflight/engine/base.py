"""What every engine (offline mocks, real Pulumi CLI) hands to the rest of preflight.

The records themselves (`PlannedResource`, `PolicyFinding`, `Remediation`, `attach_sources`) live in the core
library (`guardrails_core.plan`), the one home every layer imports them from; they are re-exported here for the
engines' callers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from guardrails_core.plan import PlannedResource, PolicyFinding, Remediation, attach_sources

__all__ = ["EngineResult", "PlannedResource", "PolicyFinding", "Remediation", "attach_sources"]


@dataclass
class EngineResult:
    engine: str  # "offline" | "pulumi"
    stack: str
    resources: list[PlannedResource] = field(default_factory=list)
    findings: list[PolicyFinding] = field(default_factory=list)
    remediations: list[Remediation] = field(default_factory=list)
    # Problems that must block the gate (pack crash, timeout, policy raised, ...): "pack/policy: what happened"
    errors: list[str] = field(default_factory=list)
    # (pack, policy) -> the pack's metadata for that policy (crossguard.PolicyMeta), for the reports
    policies: dict[tuple[str, str], Any] = field(default_factory=dict)
