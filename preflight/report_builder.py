"""Assemble preflight's report document (schemas/preflight-report.schema.json) from what each stage produced."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from guardrails_core.levels import SEVERITIES, SEVERITY_RANK
from guardrails_core.values import redact

from preflight.engine.base import EngineResult, PlannedResource, PolicyFinding
from preflight.source_map import Location, SourceMap


def violation(finding: PolicyFinding, result: EngineResult, remediated: set[tuple[str, str]],
              source_map: SourceMap | None = None, by_urn: dict[str, PlannedResource] | None = None) -> dict[str, Any]:
    """`by_urn`: the plan's resources by URN (built here when not given; `violations` builds it once)."""
    if by_urn is None:
        by_urn = {r.urn: r for r in result.resources}
    resource = by_urn.get(finding.resource_urn or "")
    if source_map is not None:
        where = source_map.locate(resource, finding.message)
    else:
        where = Location(resource.source_file, resource.source_line) if resource else Location(None, None)
    meta = result.policies.get((finding.pack, finding.policy))
    severity = finding.severity or getattr(meta, "severity", None)
    enforcement = finding.enforcement
    if finding.resource_urn and (finding.policy, finding.resource_urn) in remediated:
        enforcement = "remediate"  # the engine applies the fix during `up`; preflight shows it as a diff
    return {
        "policy": finding.policy,
        "pack": finding.pack,
        # A pack that gives no severity is treated as high rather than silently low.
        "severity": severity if severity in SEVERITIES else "high",
        "enforcement": enforcement,
        "resource_urn": finding.resource_urn,
        "resource_name": resource.name if resource else None,
        "message": finding.message,
        "file": where.file,
        "line": where.line,
        "field": where.path,
        "peer_ids": list(getattr(meta, "tags", ()) or ()),
        "remediation_steps": getattr(meta, "remediation_steps", None) or None,
        "url": getattr(meta, "url", None) or None,
        "framework": getattr(meta, "framework", None) or None,
    }


def violations(result: EngineResult, source_map: SourceMap | None = None) -> list[dict[str, Any]]:
    """Findings as report entries, each at the line of the field it is about (when `source_map` is given)."""
    remediated = {(r.policy, r.resource_urn) for r in result.remediations}
    by_urn = {r.urn: r for r in result.resources}
    out = [violation(f, result, remediated, source_map, by_urn) for f in result.findings
           if f.enforcement != "disabled"]
    return sorted(out, key=lambda v: (-SEVERITY_RANK[v["severity"]], v["policy"], v["resource_name"] or ""))


def build_report(
    *,
    project: str,
    stack: str,
    environment: str,
    result: EngineResult,
    violation_list: list[dict[str, Any]],
    predictions: dict[str, Any],
    supply_chain: list[dict[str, Any]],
    gate: dict[str, Any],
    overrides: list[dict[str, str]],
    errors: list[str],
    project_dir: Path | None = None,
) -> dict[str, Any]:
    """The report document; with `project_dir`, absolute paths inside it in messages become repo-relative (a
    message such as "code archive /home/runner/work/x/functions/y is a directory" means the same on every machine
    and does not leak the runner's layout)."""
    items = [
        {"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent, "file": r.source_file,
         "line": r.source_line}
        for r in result.resources
    ]
    root = str(Path(project_dir).resolve()) + "/" if project_dir is not None else None
    return redact({
        "schema_version": "1",
        "project": project,
        "stack": stack,
        "environment": environment,
        "engine": result.engine,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "resources": {"count": len(items), "items": items},
        "violations": violation_list,
        "remediations": [{"policy": r.policy, "resource_urn": r.resource_urn, "diff": r.diff}
                         for r in result.remediations],
        "predictions": predictions,
        "supply_chain": supply_chain,
        "gate": gate,
        "overrides": overrides,
        "errors": errors,
    }, None if root is None else lambda text: text.replace(root, ""))  # repo-relative, in the same walk
