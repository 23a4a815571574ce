"""The plan records every layer shares: what a program registers, and what a policy says about it.

Plain data, no engine or SDK types: the engines (offline mocks, real CLI) produce them, the packs' drivers and
the libraries (predictions, supply chain) read them, the reports render them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guardrails_core.source import DECLARATION_INPUT, parse_source, source_of_props


@dataclass(frozen=True)
class PlannedResource:
    """One resource the program registers, with its inputs as the engine would send them to policies."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    inputs: dict[str, Any]  # may hold guardrails_core.values.UNKNOWN and guardrails_core.values.Secret
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


def attach_sources(resources: list[PlannedResource]) -> list[PlannedResource]:
    """Give every resource the declaration file/line of its component (whichever engine planned it).

    A component's own inputs name its declaration; a rendered resource carries the annotation or tag the
    component wrote; anything else inherits from its nearest ancestor."""
    by_urn = {r.urn: r for r in resources}
    own: dict[str, tuple[str, int]] = {}
    for r in resources:
        declaration = r.inputs.get(DECLARATION_INPUT) if not r.custom else None
        loc = parse_source(declaration.get("source")) if isinstance(declaration, dict) else source_of_props(r.inputs)
        if loc is not None:
            own[r.urn] = (loc.file, loc.line)
    out = []
    for r in resources:
        cursor, found = r, own.get(r.urn)
        seen = {r.urn}
        while found is None and cursor.parent in by_urn and cursor.parent not in seen:
            cursor = by_urn[cursor.parent]
            seen.add(cursor.urn)
            found = own.get(cursor.urn)
        file, line = found or (r.source_file, r.source_line)
        out.append(PlannedResource(**{**r.__dict__, "source_file": file, "source_line": line}))
    return out
