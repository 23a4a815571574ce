"""The report contract: the JSON Schema and validate_report's extra rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from guardrails_core.values import UNKNOWN, Secret
from jsonschema import Draft202012Validator

from preflight.report import validate_report
from preflight.report.schema import ReportValidationError, load_schema

REPO = Path(__file__).resolve().parents[2]


def problems_of(doc: Any) -> list[str]:
    with pytest.raises(ReportValidationError) as caught:
        validate_report(doc, source="out/report.json")
    assert str(caught.value).startswith("out/report.json: invalid preflight report")
    return caught.value.problems


def test_fixtures_are_valid(sample: dict, clean: dict) -> None:
    validate_report(sample)
    validate_report(clean)


def test_packaged_schema_is_the_repo_schema() -> None:
    repo_copy = json.loads((REPO / "schemas" / "preflight-report.schema.json").read_text(encoding="utf-8"))
    assert load_schema() == repo_copy
    assert load_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(repo_copy)


@pytest.mark.parametrize(
    ("field", "value", "path", "allowed"),
    [
        ("severity", "severe", "violations[0].severity", "'critical'"),
        ("enforcement", "blocking", "violations[0].enforcement", "'mandatory'"),
        ("line", 0, "violations[0].line", "minimum of 1"),
        ("resource_urn", "my-svc", "violations[0].resource_urn", "urn:pulumi"),
    ],
)
def test_bad_violation_field_names_path_and_allowed_values(
    sample: dict, field: str, value: Any, path: str, allowed: str
) -> None:
    sample["violations"][0][field] = value
    problems = problems_of(sample)
    assert any(p.startswith(path + ":") and allowed in p for p in problems), problems


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(engine="terraform"), "engine: 'terraform' is not one of ['offline', 'pulumi']"),
        (lambda d: d["gate"].update(decision="warn"), "gate.decision: 'warn' is not one of ['pass', 'block']"),
        (lambda d: d.pop("gate"), "<document>: 'gate' is a required property"),
        (lambda d: d.update(violatons=[]), "'violatons' was unexpected"),
        (lambda d: d["violations"][1].pop("message"), "violations[1]: 'message' is a required property"),
        (lambda d: d["supply_chain"][0].update(kind="jar"), "supply_chain[0].kind"),
        (lambda d: d["overrides"][0].update(reason=""), "overrides[0].reason"),
        (lambda d: d["overrides"][0].update(when="yesterday"), "overrides[0].when"),
        (lambda d: d.update(schema_version="2"), "schema_version: '1' was expected"),
        (
            lambda d: d["predictions"]["invoice-parser"]["cost_usd_month"].update(p50=-1.0),
            "predictions.invoice-parser.cost_usd_month.p50",
        ),
        (
            lambda d: d["predictions"]["multimodal-ai-inference"]["change_risk"].pop("synthetic_training"),
            "predictions.multimodal-ai-inference.change_risk",
        ),
        (
            lambda d: d["predictions"]["document-embedder"]["capacity_risk"].update(probability=1.5),
            "predictions.document-embedder.capacity_risk",
        ),
    ],
)
def test_schema_mistakes_are_reported(sample: dict, mutate: Any, expected: str) -> None:
    mutate(sample)
    problems = problems_of(sample)
    assert any(expected in p for p in problems), problems


def test_quantiles_must_be_ordered(sample: dict) -> None:
    sample["predictions"]["invoice-parser"]["cost_usd_month"] = {"p10": 5.0, "p50": 4.0, "p90": 9.0}
    assert problems_of(sample) == [
        "predictions.invoice-parser.cost_usd_month: quantiles must satisfy p10 <= p50 <= p90, got 5.0, 4.0, 9.0"
    ]


def test_resource_count_must_match_items(sample: dict) -> None:
    sample["resources"]["count"] = 99
    assert problems_of(sample) == ["resources.count: 99 but resources.items has 8 entries"]


def test_block_needs_a_reason(clean: dict) -> None:
    clean["gate"] = {"decision": "block", "reasons": []}
    assert problems_of(clean) == ["gate.reasons: a block must say why (at least one reason)"]


def test_errors_cannot_pass_without_override(clean: dict) -> None:
    clean["errors"] = ["guardrails/pod-no-privileged: policy raised KeyError('spec')"]
    assert problems_of(clean) == [
        "gate.decision: 'pass' while errors are present; errors block the gate unless overridden"
    ]
    clean["overrides"] = [{"reason": "pack bug #12, reviewed", "who": "lead", "when": "2026-11-28T05:00:00Z"}]
    validate_report(clean)


def test_unredacted_values_are_refused(sample: dict) -> None:
    sample["predictions"]["invoice-parser"]["workload"]["token"] = Secret("s3cr3t-value")
    sample["predictions"]["invoice-parser"]["workload"]["arn"] = UNKNOWN
    sample["predictions"]["invoice-parser"]["workload"]["ratio"] = float("nan")
    problems = problems_of(sample)
    assert len(problems) == 3
    assert "predictions.invoice-parser.workload.token: a Secret is not JSON data" in problems[0]
    assert "guardrails_core.values.redact()" in problems[0]
    assert "s3cr3t-value" not in "\n".join(problems)
    assert "not a finite number" in problems[2]


def test_error_lists_every_problem_but_caps_the_message(sample: dict) -> None:
    for violation in sample["violations"]:
        violation["severity"] = "urgent"
        violation["enforcement"] = "now"
    sample["engine"] = "x"
    sample["environment"] = "qa"
    sample["stack"] = ""
    sample["project"] = ""
    sample["gate"]["decision"] = "maybe"
    sample["overrides"][0]["who"] = ""
    sample["supply_chain"][0]["verified"] = "yes"
    with pytest.raises(ReportValidationError) as caught:
        validate_report(sample)
    assert len(caught.value.problems) == 21
    assert "... and 1 more" in str(caught.value)


def test_schema_uses_only_keywords_the_compiled_validator_implements():
    """The fast path (fastjsonschema, draft 7) must mean the same as the 2020-12 reference validator."""
    text = json.dumps(load_schema())
    for keyword in ("prefixItems", "unevaluatedProperties", "unevaluatedItems", "dependentRequired",
                    "dependentSchemas", "$dynamicRef", "minContains", "maxContains"):
        assert f'"{keyword}"' not in text, keyword


def test_fast_and_reference_validators_agree_on_broken_documents():
    import copy

    import fastjsonschema
    from jsonschema import Draft202012Validator

    good = json.loads((Path(__file__).parent / "fixtures" / "sample_report.json").read_text())
    mutations = [
        ("engine", "magic"), ("violations", [{"policy": "x"}]), ("gate", {"decision": "maybe", "reasons": []}),
        ("resources", {"count": "1", "items": []}), ("overrides", [{"reason": "", "who": "a", "when": "now"}]),
        ("predictions", {"svc": {"kind": "gcf", "cost_usd_month": {"p10": 1, "p50": 2, "p90": 3}}}),
        ("extra_key", 1),
    ]
    compiled = fastjsonschema.compile(load_schema())
    reference = Draft202012Validator(load_schema())
    assert reference.is_valid(good)
    compiled(good)
    for key, value in mutations:
        broken = copy.deepcopy(good)
        broken[key] = value
        assert not reference.is_valid(broken), key
        with pytest.raises(fastjsonschema.JsonSchemaException):
            compiled(broken)


def test_the_schema_is_neither_shared_nor_fetched(monkeypatch):
    """A caller that changes (or a compiler that annotates) its copy does not change the next one, and a reference
    outside the schema fails instead of reaching the network (jsonschema's default registry would fetch it)."""
    import socket

    import fastjsonschema

    from preflight.report import schema as schema_module

    mine = load_schema()
    fastjsonschema.compile(mine)  # annotates `mine`
    mine["$defs"].clear()
    assert load_schema()["$defs"] and "$defs" in json.dumps(load_schema())

    def no_network(*args, **kwargs):
        raise AssertionError(f"network access: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    remote = json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema",
                         "$ref": "https://schemas.example.invalid/elsewhere.json"})
    monkeypatch.setattr(schema_module, "_schema_text", lambda: remote)
    for cached in (schema_module._compiled, schema_module._validator):
        cached.cache_clear()
    try:
        with pytest.raises(ValueError, match="never fetched"):
            schema_module._compiled()
        from referencing.exceptions import Unresolvable

        with pytest.raises(Unresolvable):
            schema_module._validator().validate({})
    finally:
        monkeypatch.undo()
        for cached in (schema_module._compiled, schema_module._validator):
            cached.cache_clear()
