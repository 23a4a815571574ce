"""Secrets never reach any report output, whichever way they were planted in the document."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from guardrails_core.values import SECRET_SIG, SPECIAL_SIG_KEY, UNKNOWN, UNKNOWN_SENTINEL, Secret
from rich.console import Console

from preflight.report import (
    prepare_report,
    redact_document,
    render_html,
    render_markdown,
    render_sarif,
    render_terminal,
)

DB_PASSWORD = "hunter2-Zq8vLx0pA"
API_TOKEN = "sk-live-9f8e7d6c5b4a"
WIRE_SECRET = "wire-format-secret-42"


def all_outputs(doc: dict[str, Any]) -> dict[str, str]:
    buffer = io.StringIO()
    render_terminal(doc, Console(file=buffer, width=200, force_terminal=True))
    return {
        "terminal": buffer.getvalue(),
        "markdown": render_markdown(doc),
        "sarif": json.dumps(render_sarif(doc)),
        "html": render_html(doc),
    }


@pytest.fixture()
def planted(sample: dict[str, Any]) -> dict[str, Any]:
    """The sample with secrets in every place a renderer reads (and in some it does not)."""
    # A policy that quoted the value it complained about: the message is a plain string, the value a Secret
    # elsewhere (as the engine hands it). The plaintext must be masked in the message too.
    sample["violations"][0]["message"] = f"env var DB_PASSWORD is set inline to {DB_PASSWORD}; use a secret ref"
    sample["violations"][0]["remediation_steps"] = Secret(DB_PASSWORD)
    sample["remediations"][0]["diff"] += f"+password: {DB_PASSWORD}\n"
    sample["predictions"]["invoice-parser"]["workload"]["api_token"] = Secret({"token": API_TOKEN})
    sample["predictions"]["invoice-parser"]["recommendation"] = {
        "summary": f"rotate {API_TOKEN} before scaling",
        "patch": f"-token: {API_TOKEN}\n+token: ${{secret}}\n",
    }
    sample["supply_chain"][1]["reason"] = {SPECIAL_SIG_KEY: SECRET_SIG, "value": WIRE_SECRET}
    sample["supply_chain"][2]["signer"] = f"ci ({WIRE_SECRET})"
    sample["gate"]["reasons"].append(f"stack-config: guardrails:token {API_TOKEN} is set in plain text")
    sample["overrides"][0]["reason"] = f"approved with token {DB_PASSWORD}"
    sample["errors"].append(f"guardrails/env-no-plaintext-secrets: saw {DB_PASSWORD}")
    return sample


def test_no_secret_in_any_output(planted: dict[str, Any]) -> None:
    outputs = all_outputs(planted)
    for name, text in outputs.items():
        for secret in (DB_PASSWORD, API_TOKEN, WIRE_SECRET):
            assert secret not in text, f"{secret!r} leaked into the {name} output"
        assert "[secret]" in text, f"the {name} output does not show where a secret was"


def test_redacted_document_has_no_secret_and_keeps_the_rest(planted: dict[str, Any]) -> None:
    clean = prepare_report(planted)
    dumped = json.dumps(clean)
    for secret in (DB_PASSWORD, API_TOKEN, WIRE_SECRET):
        assert secret not in dumped
    assert clean["violations"][0]["message"] == "env var DB_PASSWORD is set inline to [secret]; use a secret ref"
    assert clean["violations"][0]["remediation_steps"] == "[secret]"
    assert clean["supply_chain"][1]["reason"] == "[secret]"
    assert clean["predictions"]["invoice-parser"]["workload"]["api_token"] == "[secret]"
    assert clean["violations"][1] == planted["violations"][1]  # untouched parts stay as they were


def test_unknowns_become_markers() -> None:
    value = {"arn": UNKNOWN, "wire": UNKNOWN_SENTINEL, "nested": [f"x-{UNKNOWN_SENTINEL}"]}
    assert redact_document(value) == {"arn": "<unknown>", "wire": "<unknown>", "nested": [f"x-{UNKNOWN_SENTINEL}"]}


def test_short_secrets_are_replaced_but_not_masked_in_prose() -> None:
    # Masking a 2-character secret everywhere would shred unrelated text; the Secret itself is still replaced.
    doc = {"flag": Secret("on"), "message": "turn logging on"}
    assert redact_document(doc) == {"flag": "[secret]", "message": "turn logging on"}


def test_secret_inside_a_key_is_masked() -> None:
    doc = {"token": Secret(API_TOKEN), "labels": {f"seen-{API_TOKEN}": "x"}}
    assert API_TOKEN not in json.dumps(redact_document(doc))


def test_validation_cache_never_skips_a_changed_document(sample: dict[str, Any]) -> None:
    from preflight.report import ReportValidationError

    render_markdown(sample)  # valid: remembered by content hash
    sample["violations"][0]["severity"] = "urgent"
    with pytest.raises(ReportValidationError, match="urgent"):
        render_markdown(sample)
    with pytest.raises(ReportValidationError, match="urgent"):
        render_html(sample)


def test_a_prepared_document_handed_back_is_neither_redacted_nor_validated_again(
        sample: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI prepares once and each renderer prepares what it is given again (issue 17: ~0.5 s of redaction and
    # the schema per format at 500 services); unchanged, the very document comes back without either.
    from preflight.report import prepare as prepare_module

    validated: list[Any] = []
    real = prepare_module.validate_report
    monkeypatch.setattr(prepare_module, "validate_report",
                        lambda doc, *a, **k: (validated.append(doc), real(doc, *a, **k)))
    clean = prepare_report(sample)
    assert prepare_report(clean) is clean and len(validated) == 1
    once = prepare_report(sample, remember=False)  # --json alone: nothing remembered, no hash computed
    assert prepare_report(once) is not once and len(validated) == 3


def test_a_prepared_document_edited_since_is_prepared_again(sample: dict[str, Any]) -> None:
    from preflight.report import ReportValidationError

    clean = prepare_report(sample)
    clean["violations"][0]["message"] = Secret(API_TOKEN)
    again = prepare_report(clean)
    assert again is not clean and API_TOKEN not in json.dumps(again)
    again["violations"][0]["severity"] = "urgent"
    with pytest.raises(ReportValidationError, match="urgent"):
        render_markdown(again)


def test_a_leaf_that_is_not_json_is_named_after_the_one_walk(sample: dict[str, Any]) -> None:
    # prepare_report checks the leaves while it redacts (issue 17); a bad one still gets validation's full answer.
    from preflight.report import ReportValidationError

    sample["predictions"]["invoice-parser"]["workload"]["ratio"] = float("inf")
    sample["predictions"]["invoice-parser"]["workload"]["when"] = object()
    with pytest.raises(ReportValidationError) as caught:
        prepare_report(sample)
    assert "predictions.invoice-parser.workload.ratio: inf is not a finite number" in str(caught.value)
    assert "predictions.invoice-parser.workload.when: a object is not JSON data" in str(caught.value)


def test_the_report_is_redacted_and_made_repo_relative_in_one_walk(tmp_path: Path) -> None:
    # build_report hands the path rewrite to the redaction walk (issue 17: one walk of a 155,000-node document
    # less); both must still happen everywhere, and the markers must stay as they are.
    from guardrails_core.values import SECRET_MARK, UNKNOWN_MARK

    from preflight.engine.base import EngineResult
    from preflight.report_builder import build_report

    root = str(tmp_path.resolve())
    doc = build_report(
        project="p", stack="dev", environment="dev", result=EngineResult(engine="offline", stack="dev"),
        violation_list=[{"message": f"code archive {root}/functions/x is a directory", "token": Secret(API_TOKEN)}],
        predictions={"svc": {"reasons": [f"read {root}/services/svc.yaml", UNKNOWN_SENTINEL],
                             "nested": {"deep": (f"{root}/a", UNKNOWN)}}},
        supply_chain=[], gate={"decision": "block"}, overrides=[], errors=[f"{root}/x: failed"], project_dir=tmp_path)
    assert doc["violations"][0] == {"message": "code archive functions/x is a directory", "token": SECRET_MARK}
    assert doc["predictions"]["svc"] == {"reasons": ["read services/svc.yaml", UNKNOWN_MARK],
                                         "nested": {"deep": ["a", UNKNOWN_MARK]}}
    assert doc["errors"] == ["x: failed"] and root not in json.dumps(doc)
