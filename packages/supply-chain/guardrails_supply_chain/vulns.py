"""Read vulnerability reports: Trivy JSON (SchemaVersion 2) and CycloneDX SBOMs with `vulnerabilities`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from guardrails_core.safe_input import JSONSyntaxError, UnsafeInputError, read_json_bounded

_FRACTION_RE = re.compile(r"(\.\d+)")
SEVERITY_ORDER = {"unknown": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


class ReportError(ValueError):
    """A report that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Vulnerability:
    id: str
    package: str
    installed: str | None
    fixed: str | None  # fixed version or upgrade advice; None when no fix exists
    severity: str  # unknown | low | medium | high | critical
    cvss_vector: str | None
    cvss_score: float | None

    @property
    def fixable(self) -> bool:
        return bool(self.fixed)

    @property
    def network(self) -> bool:
        # AV:N in CVSS v3 and v2 alike: exploitable remotely over the network.
        return self.cvss_vector is not None and "AV:N" in self.cvss_vector.split("/")


@dataclass
class VulnerabilityReport:
    path: str
    format: str  # trivy | cyclonedx
    created_at: datetime
    artifact_name: str | None
    repo_digests: list[str] = field(default_factory=list)
    vulnerabilities: list[Vulnerability] = field(default_factory=list)


def _parse_time(value: Any, where: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise ReportError(f"{where}: missing; the report must say when it was made (RFC 3339 time)")
    text = value.strip().replace("Z", "+00:00")
    # Trivy writes nanoseconds; Python parses at most microseconds.
    text = _FRACTION_RE.sub(lambda m: m.group(1)[:7], text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ReportError(f"{where}: {value!r} is not an RFC 3339 time") from exc
    if parsed.tzinfo is None:
        raise ReportError(f"{where}: {value!r} has no UTC offset")
    return parsed


def _severity(value: Any) -> str:
    text = str(value or "unknown").strip().lower()
    return text if text in SEVERITY_ORDER else "unknown"


def _trivy_cvss(cvss: Any, source: str | None) -> tuple[str | None, float | None]:
    """Prefer the severity source's own vector, then NVD, then any vendor; v3 over v2."""
    if not isinstance(cvss, dict):
        return None, None
    order = [s for s in (source, "nvd", "ghsa", "redhat") if s] + sorted(cvss)
    for key in ("V3Vector", "V2Vector"):
        for vendor in order:
            entry = cvss.get(vendor)
            if isinstance(entry, dict) and isinstance(entry.get(key), str):
                score = entry.get("V3Score" if key == "V3Vector" else "V2Score")
                return entry[key], float(score) if isinstance(score, int | float) else None
    return None, None


def _parse_trivy(doc: dict[str, Any], path: str) -> VulnerabilityReport:
    metadata = doc.get("Metadata") if isinstance(doc.get("Metadata"), dict) else {}
    report = VulnerabilityReport(
        path=path,
        format="trivy",
        created_at=_parse_time(doc.get("CreatedAt"), f"{path}: CreatedAt"),
        artifact_name=doc.get("ArtifactName") if isinstance(doc.get("ArtifactName"), str) else None,
        repo_digests=[d for d in metadata.get("RepoDigests") or [] if isinstance(d, str)],
    )
    results = doc.get("Results", [])
    if not isinstance(results, list):
        raise ReportError(f"{path}: Results must be a list")
    for r_index, result in enumerate(results):
        vulns = result.get("Vulnerabilities") if isinstance(result, dict) else None
        if vulns is None:
            continue
        if not isinstance(vulns, list):
            raise ReportError(f"{path}: Results[{r_index}].Vulnerabilities must be a list")
        for v_index, vuln in enumerate(vulns):
            where = f"{path}: Results[{r_index}].Vulnerabilities[{v_index}]"
            if not isinstance(vuln, dict) or not isinstance(vuln.get("VulnerabilityID"), str):
                raise ReportError(f"{where}.VulnerabilityID: missing")
            vector, score = _trivy_cvss(vuln.get("CVSS"), vuln.get("SeveritySource"))
            fixed = vuln.get("FixedVersion") or None
            report.vulnerabilities.append(
                Vulnerability(
                    id=vuln["VulnerabilityID"],
                    package=str(vuln.get("PkgName") or vuln.get("PkgID") or "?"),
                    installed=vuln.get("InstalledVersion"),
                    fixed=fixed if isinstance(fixed, str) else None,
                    severity=_severity(vuln.get("Severity")),
                    cvss_vector=vector,
                    cvss_score=score,
                )
            )
    return report


def _cdx_rating(vuln: dict[str, Any]) -> tuple[str, str | None, float | None]:
    """Severity from the advisory's own source (as Trivy does), else NVD CVSS v3, else the highest rating."""
    ratings = [r for r in vuln.get("ratings") or [] if isinstance(r, dict)]
    source = (vuln.get("source") or {}).get("name") if isinstance(vuln.get("source"), dict) else None

    def by(name: str | None, v3_only: bool = False) -> dict[str, Any] | None:
        for rating in ratings:
            rsrc = rating.get("source", {}).get("name") if isinstance(rating.get("source"), dict) else None
            if rsrc == name and (not v3_only or str(rating.get("method", "")).startswith("CVSSv3")):
                return rating
        return None

    chosen = by(source) or by("nvd", v3_only=True) or max(
        ratings, key=lambda r: SEVERITY_ORDER[_severity(r.get("severity"))], default=None
    )
    severity = _severity(chosen.get("severity")) if chosen else "unknown"
    vector_rating = next(
        (r for r in (by(source, True), by("nvd", True), by("nvd"), *ratings) if r and r.get("vector")), None
    )
    vector = vector_rating.get("vector") if vector_rating else None
    score = vector_rating.get("score") if vector_rating else None
    return severity, vector, float(score) if isinstance(score, int | float) else None


def _parse_cyclonedx(doc: dict[str, Any], path: str) -> VulnerabilityReport:
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    component = metadata.get("component") if isinstance(metadata.get("component"), dict) else {}
    report = VulnerabilityReport(
        path=path,
        format="cyclonedx",
        created_at=_parse_time(metadata.get("timestamp"), f"{path}: metadata.timestamp"),
        artifact_name=component.get("name") if isinstance(component.get("name"), str) else None,
        repo_digests=[
            str(prop.get("value"))
            for prop in component.get("properties") or []
            if isinstance(prop, dict) and prop.get("name") == "aquasecurity:trivy:RepoDigest"
        ],
    )
    vulns = doc.get("vulnerabilities", [])
    if not isinstance(vulns, list):
        raise ReportError(f"{path}: vulnerabilities must be a list")
    names = {c.get("bom-ref"): c for c in doc.get("components") or [] if isinstance(c, dict)}
    for index, vuln in enumerate(vulns):
        where = f"{path}: vulnerabilities[{index}]"
        if not isinstance(vuln, dict) or not isinstance(vuln.get("id"), str):
            raise ReportError(f"{where}.id: missing")
        severity, vector, score = _cdx_rating(vuln)
        affects = [a for a in vuln.get("affects") or [] if isinstance(a, dict)]
        ref = affects[0].get("ref") if affects else None
        comp = names.get(ref, {})
        # Trivy writes "Upgrade <pkg> to version <v>" as the recommendation when a fix exists.
        fixed = vuln.get("recommendation") if isinstance(vuln.get("recommendation"), str) else None
        report.vulnerabilities.append(
            Vulnerability(
                id=vuln["id"],
                package=str(comp.get("name") or ref or "?"),
                installed=comp.get("version"),
                fixed=fixed or None,
                severity=severity,
                cvss_vector=vector,
                cvss_score=score,
            )
        )
    return report


def load_report(path: Path, label: str | None = None) -> VulnerabilityReport:
    """Parse a Trivy JSON report or a CycloneDX JSON SBOM. Raises ReportError naming the file and field."""
    label = label or str(path)
    try:
        doc = read_json_bounded(path)
    except JSONSyntaxError as exc:
        raise ReportError(f"{label}: not valid JSON (line {exc.lineno}: {exc.reason})") from None
    except UnsafeInputError as exc:
        raise ReportError(f"{label}: cannot read vulnerability report (the file {exc})") from None
    if not isinstance(doc, dict):
        raise ReportError(f"{label}: expected a JSON object (Trivy report or CycloneDX SBOM)")
    if doc.get("bomFormat") == "CycloneDX":
        return _parse_cyclonedx(doc, label)
    if "SchemaVersion" in doc:
        if doc.get("SchemaVersion") != 2:
            raise ReportError(f"{label}: SchemaVersion {doc.get('SchemaVersion')!r} unsupported; allowed: 2")
        return _parse_trivy(doc, label)
    raise ReportError(
        f"{label}: unknown report format; allowed: Trivy JSON (SchemaVersion 2) or CycloneDX JSON (bomFormat)"
    )
