"""SARIF 2.1.0 for GitHub code scanning (and any other SARIF viewer).

GitHub treats every result as an open problem, so only policy violations become results (disabled ones are
skipped); engine errors go to `invocations[0].toolExecutionNotifications` and mark the run unsuccessful.
Locations point at the declaration (`services/<file>.yaml` + line) relative to `%SRCROOT%`, the repository root.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from preflight.report import view
from preflight.report.prepare import prepare_report

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
TOOL_NAME = "preflight"
# GitHub buckets security-severity as critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
LEVEL_BY_ENFORCEMENT = {"mandatory": "error", "advisory": "warning", "remediate": "warning"}
FINGERPRINT_KEY = "preflightFinding/v1"


def _tool_version() -> str:
    try:
        return importlib.metadata.version("serverless-guardrails")
    except importlib.metadata.PackageNotFoundError:  # running from a bare checkout
        return "0.0.0"


def _humanise(policy: str) -> str:
    words = policy.replace("_", "-").split("-")
    return " ".join(words).capitalize()


def artifact_location(file: str, repo_root: Path | None) -> dict[str, str]:
    """`{"uri", "uriBaseId"}` relative to the repo root; an absolute path outside it stays a file URI."""
    path = file.replace("\\", "/")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        absolute = Path(file)
        if repo_root is not None and absolute.is_relative_to(repo_root):
            path = absolute.relative_to(repo_root).as_posix()
        else:
            return {"uri": absolute.as_uri()}
    relative = PurePosixPath(path)
    parts = [p for p in relative.parts if p not in (".", "")]
    return {"uri": quote("/".join(parts), safe="/"), "uriBaseId": SRCROOT}


def _rule(policy: str, first: dict[str, Any], description: str | None) -> dict[str, Any]:
    severity = first["severity"]
    tags = ["security", f"severity:{severity}", f"pack:{first['pack']}"]
    if first.get("framework"):
        tags.append(f"framework:{first['framework']}")
    tags += first.get("peer_ids") or []
    rule: dict[str, Any] = {
        "id": policy,
        "name": policy,
        "shortDescription": {"text": description or _humanise(policy)},
        "defaultConfiguration": {"level": LEVEL_BY_ENFORCEMENT.get(first["enforcement"], "warning")},
        "properties": {"tags": tags, "security-severity": SECURITY_SEVERITY[severity], "precision": "high"},
    }
    if first.get("remediation_steps"):
        rule["fullDescription"] = {"text": first["remediation_steps"]}
        rule["help"] = {"text": first["remediation_steps"]}
    if first.get("url"):
        rule["helpUri"] = first["url"]
    return rule


def _location(violation: dict[str, Any], stack_config_file: str, repo_root: Path | None) -> dict[str, Any]:
    file = violation.get("file")
    physical: dict[str, Any] = {"artifactLocation": artifact_location(file or stack_config_file, repo_root)}
    if file and violation.get("line"):
        physical["region"] = {"startLine": violation["line"]}
    location: dict[str, Any] = {"physicalLocation": physical}
    if violation.get("resource_urn"):
        location["logicalLocations"] = [
            {
                "name": violation.get("resource_name") or "",
                "fullyQualifiedName": violation["resource_urn"],
                "kind": "resource",
            }
        ]
    return location


def _fingerprint(violation: dict[str, Any]) -> str:
    key = "\x1f".join(str(violation.get(k) or "") for k in ("pack", "policy", "resource_urn", "file", "message"))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def render_sarif(
    doc: Any,
    *,
    descriptions: dict[str, str] | None = None,
    repo_root: Path | None = None,
    stack_config_file: str | None = None,
) -> dict[str, Any]:
    """One SARIF run for the report.

    descriptions: policy name -> one-line description (from the pack's analyzer info) for `shortDescription`;
        without it the policy name is turned into a sentence.
    repo_root: used to make absolute declaration paths relative to `%SRCROOT%`.
    stack_config_file: where stack-level findings (no declaration file) point; GitHub needs a location on every
        result, and the stack settings are what such a finding is about. Default `stacks/Pulumi.<stack>.yaml`.
    """
    report = prepare_report(doc)
    descriptions = descriptions or {}
    stack_file = stack_config_file or f"stacks/Pulumi.{report['stack']}.yaml"
    violations = [v for v in view.sorted_violations(report) if v["enforcement"] != "disabled"]

    rule_index: dict[str, int] = {}
    rules: list[dict[str, Any]] = []
    for violation in violations:
        if violation["policy"] not in rule_index:
            rule_index[violation["policy"]] = len(rules)
            rules.append(_rule(violation["policy"], violation, descriptions.get(violation["policy"])))

    results = []
    for violation in violations:
        properties: dict[str, Any] = {
            "pack": violation["pack"],
            "severity": violation["severity"],
            "enforcement": violation["enforcement"],
        }
        if not violation.get("file"):
            properties["locationIsStackConfig"] = True
        results.append(
            {
                "ruleId": violation["policy"],
                "ruleIndex": rule_index[violation["policy"]],
                "level": LEVEL_BY_ENFORCEMENT[violation["enforcement"]],
                "message": {"text": violation["message"]},
                "locations": [_location(violation, stack_file, repo_root)],
                "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(violation)},
                "properties": properties,
            }
        )

    invocation: dict[str, Any] = {
        "executionSuccessful": not report["errors"],
        "endTimeUtc": report["generated_at"],
    }
    if report["errors"]:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": error}} for error in report["errors"]
        ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": _tool_version(),
                "rules": rules,
            }
        },
        # GitHub keys uploads by category: one per stack so prod and dev findings do not close each other.
        "automationDetails": {"id": f"preflight/{report['project']}/{report['stack']}/"},
        "invocations": [invocation],
        "results": results,
        "properties": {
            "engine": report["engine"],
            "environment": report["environment"],
            "gate": report["gate"],
            "overrides": report["overrides"],
        },
    }
    if repo_root is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": repo_root.resolve().as_uri() + "/"}}
    return {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]}
