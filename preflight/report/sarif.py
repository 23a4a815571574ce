"""SARIF 2.1.0 for GitHub code scanning (and any other SARIF viewer).

GitHub treats every result as an open problem, so only policy violations become results (disabled ones are
skipped); engine errors go to `invocations[0].toolExecutionNotifications` and mark the run unsuccessful.
Locations point at the declaration (`services/<file>.yaml` + line) relative to `%SRCROOT%`, the repository root.

An alert stays the same alert across pushes only if its `partialFingerprints` do: they are built from the rule,
the resource's identity and the field path the finding is about — never from the message, which quotes values
(a predicted "$20,344.30/month") that change with every prediction. One run per stack, each with its own
`automationDetails` category, so prod's and dev's findings never close each other.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
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
FINGERPRINT_KEY = "preflightFinding/v2"  # v2: stable parts only (v1 hashed the message)
# GitHub's documented limits (docs.github.com, "SARIF results exceed limit"): a file over a hard limit is rejected.
GITHUB_LIMITS = {"runs": 20, "results_per_run": 25_000, "rules_per_run": 25_000, "locations_per_result": 1_000,
                 "tags_per_rule": 20}
TAGS_SHOWN = 10  # GitHub displays the first 10 tags of a rule
# Field paths the controls name in their messages: `spec.template.spec.containers[0]`, `metadata.labels[x]`.
_FIELD_PATH = re.compile(r"\b(?:spec|metadata|properties|status)(?:\.[A-Za-z_][\w-]*|\[[^\]\s]+\])+")


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
    tags = (tags + list(first.get("peer_ids") or []))[:TAGS_SHOWN]
    rule: dict[str, Any] = {
        "id": policy,
        "name": policy,
        "shortDescription": {"text": description or view.split_message(first["message"])[0] or _humanise(policy)},
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


def field_path(violation: dict[str, Any]) -> str:
    """The field a finding is about: the violation's own `field` when the engine gives one, else the first field
    path its detail names (`spec.template.spec.containers[0]`), else "" (the finding is about the whole resource)."""
    if violation.get("field"):
        return str(violation["field"])
    match = _FIELD_PATH.search(view.split_message(violation["message"])[1])
    return match.group(0) if match else ""


def _resource_identity(violation: dict[str, Any], stack_file: str) -> str:
    # The URN names stack, project, type and name: the resource itself, whatever its file or line. Stack-level
    # findings have none; the stack settings file is what they are about.
    return violation.get("resource_urn") or f"stack:{stack_file}"


def fingerprints(violations: list[dict[str, Any]], stack_file: str) -> list[str]:
    """One per violation from (pack, rule, resource, field path); repeats of one key get an occurrence number in
    document order (two findings of one rule on one field of one resource)."""
    seen: dict[str, int] = {}
    out = []
    for violation in violations:
        key = "\x1f".join((violation["pack"], violation["policy"], _resource_identity(violation, stack_file),
                           field_path(violation)))
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key += f"\x1f#{seen[key]}"
        out.append(hashlib.sha256(key.encode("utf-8")).hexdigest()[:32])
    return out


def _message(violation: dict[str, Any], repo_root: Path | None) -> str:
    """What is wrong here (the rule carries the control's description), repo-relative, in words not literals."""
    return view.clean_text(view.split_message(violation["message"])[1], repo_root)


def render_sarif(
    doc: Any,
    *,
    descriptions: dict[str, str] | None = None,
    repo_root: Path | None = None,
    stack_config_file: str | None = None,
) -> dict[str, Any]:
    """A SARIF log with one run per report (pass one report, or a list of them: one per stack).

    descriptions: policy name -> one-line description (from the pack's analyzer info) for `shortDescription`;
        without it the description CrossGuard puts at the head of each message is used.
    repo_root: used to make absolute declaration paths relative to `%SRCROOT%` (and to keep them out of messages).
    stack_config_file: where stack-level findings (no declaration file) point; GitHub needs a location on every
        result, and the stack settings are what such a finding is about. Default `stacks/Pulumi.<stack>.yaml`.
    """
    docs = doc if isinstance(doc, list) else [doc]
    if len(docs) > GITHUB_LIMITS["runs"]:
        raise ValueError(f"{len(docs)} stacks in one SARIF file; GitHub accepts at most {GITHUB_LIMITS['runs']} runs")
    runs = [_run(item, descriptions or {}, repo_root, stack_config_file) for item in docs]
    categories = [run["automationDetails"]["id"] for run in runs]
    if len(set(categories)) != len(categories):
        raise ValueError(f"two reports for the same stack in one SARIF file: {categories}")
    return {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": runs}


def _run(doc: Any, descriptions: dict[str, str], repo_root: Path | None,
         stack_config_file: str | None) -> dict[str, Any]:
    report = prepare_report(doc)
    stack_file = stack_config_file or f"stacks/Pulumi.{report['stack']}.yaml"
    violations = [v for v in view.sorted_violations(report) if v["enforcement"] != "disabled"]
    # Worst first, so when a plan exceeds GitHub's limit the ones dropped are the least severe (and said so).
    dropped = max(0, len(violations) - GITHUB_LIMITS["results_per_run"])
    violations = violations[: GITHUB_LIMITS["results_per_run"]]

    rule_index: dict[str, int] = {}
    rules: list[dict[str, Any]] = []
    for violation in violations:
        if violation["policy"] not in rule_index:
            rule_index[violation["policy"]] = len(rules)
            rules.append(_rule(violation["policy"], violation, descriptions.get(violation["policy"])))

    results = []
    for violation, fingerprint in zip(violations, fingerprints(violations, stack_file), strict=True):
        properties: dict[str, Any] = {
            "pack": violation["pack"],
            "severity": violation["severity"],
            "enforcement": violation["enforcement"],
        }
        if not violation.get("file"):
            properties["locationIsStackConfig"] = True
        if field_path(violation):
            properties["field"] = field_path(violation)
        results.append(
            {
                "ruleId": violation["policy"],
                "ruleIndex": rule_index[violation["policy"]],
                "level": LEVEL_BY_ENFORCEMENT[violation["enforcement"]],
                "message": {"text": _message(violation, repo_root)},
                "locations": [_location(violation, stack_file, repo_root)],
                "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
                "properties": properties,
            }
        )

    invocation: dict[str, Any] = {
        "executionSuccessful": not report["errors"],
        "endTimeUtc": report["generated_at"],
    }
    notifications = [{"level": "error", "message": {"text": view.clean_text(error, repo_root)}}
                     for error in report["errors"]]
    if dropped:
        notifications.append({"level": "warning", "message": {
            "text": f"{dropped} least severe result(s) left out: GitHub accepts at most "
                    f"{GITHUB_LIMITS['results_per_run']} per run; the JSON and HTML reports list all."}})
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
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
            "gate": {"decision": report["gate"]["decision"],
                     "reasons": [view.clean_text(r, repo_root) for r in report["gate"]["reasons"]]},
            "overrides": report["overrides"],
            "resultsLeftOut": dropped,
        },
    }
