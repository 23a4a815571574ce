"""What every engine (offline mocks, real Pulumi CLI) hands to the rest of preflight."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PlannedResource:
    """One resource the program registers, with its inputs as the engine would send them to policies."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    inputs: dict[str, Any]  # may hold preflight.values.UNKNOWN and preflight.values.Secret
    source_file: str | None = None
    source_line: int | None = None


@dataclass(frozen=True)
class PolicyFinding:
    """One policy violation, whichever engine reported it."""

    policy: str
    pack: str
    enforcement: str  # advisory | mandatory | remediate | disabled
    message: str
    resource_urn: str | None = None  # None for stack policies that name no resource
    severity: str | None = None  # low | medium | high | critical (from the pack's metadata)


@dataclass(frozen=True)
class Remediation:
    policy: str
    pack: str
    resource_urn: str
    before: dict[str, Any]
    after: dict[str, Any]
    diff: str


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
