"""Supply-chain evaluation of planned resources: signatures, vulnerability gate, report freshness.

Plain functions over `{type, name, urn, props}` (docs/CONTRACTS.md) so the same logic serves preflight
(`evaluate_plan`) and the CrossGuard controls under policy_packs/guardrails (`evaluate_resource`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from guardrails_core.safe_input import MissingInputError, UnsafeInputError, resolve_inside
from guardrails_core.settings import StackSettings, SupplyChainSettings

from guardrails_supply_chain.artifacts import (
    SUPPORTED_TYPES,
    Artifact,
    ServiceContext,
    resource_artifacts,
    service_context,
)
from guardrails_supply_chain.cache import VerificationCache
from guardrails_supply_chain.config import stack_settings
from guardrails_supply_chain.ranking import rank_vulnerabilities
from guardrails_supply_chain.trust import LoadedRoot, TrustedRootError, load_trusted_root
from guardrails_supply_chain.verify import VerificationResult, sha256_file, verify_with_cache
from guardrails_supply_chain.vulns import ReportError, VulnerabilityReport, load_report

POLICY_SIGNED = "sc.artifact-signed"
POLICY_VULN_GATE = "sc.vuln-gate"
POLICY_REPORT_FRESH = "sc.vuln-report-fresh"
# Reports dated further ahead than this are treated as suspicious (clock skew tolerance).
FUTURE_SKEW = timedelta(days=1)


@dataclass(frozen=True)
class Finding:
    urn: str
    policy_id: str
    severity: str  # low | medium | high | critical
    message: str

    def as_tuple(self) -> tuple[str, str, str, str]:
        return (self.urn, self.policy_id, self.severity, self.message)


@dataclass
class ResourceEvaluation:
    records: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def messages(self, policy_id: str) -> list[str]:
        return [f.message for f in self.findings if f.policy_id == policy_id]


def _repo_file(project_dir: Path, relative: str, what: str) -> tuple[Path | None, str | None]:
    """Resolve a repo-relative path: a regular file inside the repository (symlinks followed and checked)."""
    try:
        return resolve_inside(project_dir, relative), None
    except MissingInputError:
        return None, f"{what} {relative} not found in the repository"
    except UnsafeInputError as exc:
        return None, f"{what} {relative!r} refused: it {exc}"


def _signatures_required(sc: SupplyChainSettings, environment: str, ctx: ServiceContext) -> bool:
    return environment in sc.require_signatures_in or ctx.pci


def _verify_artifact(
    artifact: Artifact,
    signers: list[Any],
    root_of: Callable[[], tuple[LoadedRoot | None, str | None]],
    project_dir: Path,
    cache: VerificationCache | None,
) -> VerificationResult:
    """`root_of()` gives (trusted root, why it could not be loaded): asked only for an artifact that has a bundle
    to check, so a plan without bundles never parses the root (nor imports sigstore)."""
    if artifact.problem:
        return VerificationResult(False, artifact.problem)
    if artifact.local_path is not None:
        actual = f"sha256:{sha256_file(artifact.local_path)}"
        if artifact.digest is not None and artifact.digest != actual:
            return VerificationResult(
                False, f"{artifact.location} has digest {actual}, but the declaration says {artifact.digest}"
            )
        artifact.digest = actual
    if artifact.digest is None:
        return VerificationResult(False, f"no digest could be established for {artifact.location}")
    if not artifact.bundle:
        return VerificationResult(False, f"unsigned: no signature bundle declared (annotation {artifact.bundle_key})")
    bundle_path, problem = _repo_file(project_dir, artifact.bundle, f"signature bundle ({artifact.bundle_key})")
    if bundle_path is None:
        return VerificationResult(False, problem or "signature bundle not found")
    root, root_error = root_of()
    if root is None:
        return VerificationResult(False, root_error or "no trusted root")
    return verify_with_cache(
        artifact.digest.removeprefix("sha256:"), bundle_path, signers, root, cache, artifact.bundle
    )


def _report_findings(
    ctx: ServiceContext,
    report: VulnerabilityReport,
    sc: SupplyChainSettings,
    primary: Artifact | None,
    now: datetime,
) -> tuple[list[dict[str, Any]], list[Finding]]:
    gate = sc.vulnerability_gate
    findings: list[Finding] = []
    age = now - report.created_at
    if age > timedelta(days=gate.max_report_age_days):
        findings.append(Finding(
            ctx.urn, POLICY_REPORT_FRESH, "high",
            f"{ctx.service}: vulnerability report {report.path} is {age.days} days old (made "
            f"{report.created_at.isoformat()}); the limit is {gate.max_report_age_days} days "
            "(supply_chain.vulnerability_gate.max_report_age_days). Re-scan the artifact.",
        ))
    elif report.created_at - now > FUTURE_SKEW:
        findings.append(Finding(
            ctx.urn, POLICY_REPORT_FRESH, "high",
            f"{ctx.service}: vulnerability report {report.path} is dated in the future "
            f"({report.created_at.isoformat()}); its age cannot be trusted",
        ))
    if report.repo_digests and primary is not None and primary.digest:
        scanned = {d.rpartition("@")[2].lower() for d in report.repo_digests}
        if primary.digest not in scanned:
            findings.append(Finding(
                ctx.urn, POLICY_VULN_GATE, "critical",
                f"{ctx.service}: vulnerability report {report.path} scanned {', '.join(report.repo_digests)}, "
                f"not the deployed {primary.location}",
            ))
    ranked = rank_vulnerabilities(report.vulnerabilities, ctx.exposure, ctx.classification, gate.block)
    for item in ranked:
        if not item.blocked:
            continue
        v = item.vuln
        fix = f"upgrade to {v.fixed}" if v.fixed else "no fix available"
        findings.append(Finding(
            ctx.urn, POLICY_VULN_GATE, "critical",
            f"{ctx.service}: {v.id} in {v.package} {v.installed or ''} ({v.severity}, rank {item.rank}, "
            f"score {item.score}) is blocked for a {ctx.exposure} {ctx.classification} service: "
            f"{item.block_reason}; {fix}. Rank reasons: {'; '.join(item.reasons)}",
        ))
    return [item.to_dict() for item in ranked], findings


def evaluate_resource(
    resource: dict[str, Any],
    settings: StackSettings | dict[str, Any],
    project_dir: Path,
    *,
    now: datetime | None = None,
    cache: VerificationCache | None = None,
) -> ResourceEvaluation:
    """Records and findings for one resource `{type, name, urn, props[, source]}`; other types give nothing.

    Raises SupplyChainConfigError when the `supply_chain` setting itself is invalid (fail closed)."""
    result = ResourceEvaluation()
    if resource.get("type") not in SUPPORTED_TYPES:
        return result
    settings = stack_settings(settings)
    sc = settings.supply_chain
    environment = settings.environment
    domain = settings.annotation_domain
    now = now or datetime.now(UTC)
    ctx = service_context(resource, settings, project_dir)
    props = resource.get("props") or {}

    root_spec, signers = sc.for_environment(environment)

    def root_of() -> tuple[LoadedRoot | None, str | None]:
        try:
            return load_trusted_root(root_spec, project_dir), None
        except TrustedRootError as exc:
            return None, str(exc)

    required = _signatures_required(sc, environment, ctx)
    artifacts = resource_artifacts(ctx, props, domain, project_dir)
    for artifact in artifacts:
        outcome = _verify_artifact(artifact, signers, root_of, project_dir, cache)
        result.records.append({
            "service": ctx.service,
            "artifact": artifact.location,
            "kind": artifact.kind,
            "digest": artifact.digest,
            "bundle": artifact.bundle,
            "verified": outcome.verified,
            "signer": outcome.signer,
            "issuer": outcome.issuer,
            "reason": outcome.reason,
            "vulnerabilities": None,
        })
        if not outcome.verified:
            why = "mandatory in prod and for PCI scope" if required else "advisory outside required environments"
            result.findings.append(Finding(
                ctx.urn, POLICY_SIGNED, "critical" if required else "medium",
                f"{ctx.service}: {artifact.kind} {artifact.location} is not verifiably signed: {outcome.reason} "
                f"({why}; trusted root {root_spec!r}, environment {environment or '?'})",
            ))

    report_key = f"security.{domain}/vulnerability-report"
    report_path = ctx.annotations.get(report_key)
    primary = next((a for a in artifacts if a.kind in ("image", "zip")), None)
    primary_record = next((r for r in result.records if primary is not None and r["artifact"] == primary.location),
                          None)
    if report_path is None:
        if environment in sc.vulnerability_gate.require_report_in and primary is not None:
            result.findings.append(Finding(
                ctx.urn, POLICY_VULN_GATE, "high",
                f"{ctx.service}: no vulnerability report declared (annotation {report_key}: a Trivy JSON report or "
                f"CycloneDX SBOM, path relative to the repository); required in {environment}",
            ))
        return result
    path, problem = _repo_file(project_dir, report_path, f"vulnerability report ({report_key})")
    if path is None:
        result.findings.append(Finding(ctx.urn, POLICY_VULN_GATE, "critical", f"{ctx.service}: {problem}"))
        return result
    try:
        report = load_report(path, report_path)
    except ReportError as exc:
        result.findings.append(Finding(
            ctx.urn, POLICY_VULN_GATE, "critical", f"{ctx.service}: unusable vulnerability report: {exc}"
        ))
        return result
    ranked, findings = _report_findings(ctx, report, sc, primary, now)
    result.findings.extend(findings)
    if primary_record is not None:
        primary_record["vulnerabilities"] = ranked
    return result


def _resource_dict(resource: Any) -> dict[str, Any]:
    if isinstance(resource, dict):
        return resource
    source = None
    if getattr(resource, "source_file", None):
        source = f"{resource.source_file}:{resource.source_line or 1}"
    return {"type": resource.type, "name": resource.name, "urn": resource.urn, "props": resource.inputs,
            "source": source}


def evaluate_plan(
    resources: list[Any],
    settings: StackSettings | dict[str, Any],
    project_dir: Path,
    *,
    now: datetime | None = None,
    use_cache: bool | None = None,
) -> tuple[list[dict[str, Any]], list[tuple[str, str, str, str]]]:
    """Preflight entry point: (supply_chain records for the report, findings as (urn, policy_id, severity, msg)).

    `resources` are PlannedResource objects (or `{type, name, urn, props}` dicts). The verification cache under
    `.preflight-cache/` is used unless `use_cache` is False or `supply_chain.cache` is false."""
    settings = stack_settings(settings)
    sc = settings.supply_chain
    cache = VerificationCache(Path(project_dir)) if (sc.cache if use_cache is None else use_cache) else None
    now = now or datetime.now(UTC)
    records: list[dict[str, Any]] = []
    findings: list[tuple[str, str, str, str]] = []
    for resource in resources:
        evaluation = evaluate_resource(_resource_dict(resource), settings, Path(project_dir), now=now, cache=cache)
        records.extend(evaluation.records)
        findings.extend(f.as_tuple() for f in evaluation.findings)
    if cache is not None:
        cache.save()
    return records, findings
