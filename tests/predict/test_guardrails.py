"""Budget, risk and anomaly guardrails (the functions the CrossGuard stack controls call)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from guardrails_core.settings import StackSettings
from guardrails_predict.config import prediction_settings
from guardrails_predict.guardrails import (
    budget_cap_per_cost_center,
    cost_anomaly,
    load_previous_state,
    ml_risk_threshold,
    predicted_cost_within_budget,
)
from guardrails_predict.plan import predict_plan
from guardrails_predict.resources import PredictionInputError

from tests.predict.helpers import knative, lambda_fn

DECLARED = {"finops.apexlogic.com/expected-requests-per-month": "2000000",
            "finops.apexlogic.com/expected-p50-latency-ms": "180"}


def settings(env: str = "prod", **kw) -> dict:
    return StackSettings(environment=env, aws_region="eu-west-1", **kw).model_dump(mode="json", by_alias=False)


def as_dicts(resources) -> list[dict]:
    return [{"type": r.type, "name": r.name, "urn": r.urn, "props": r.inputs, "parent": r.parent}
            for r in resources]


@pytest.fixture()
def stack(tmp_path: Path) -> list:
    return [knative(tmp_path), *lambda_fn(tmp_path, annotations=DECLARED)]


def _p90_total(stack, tmp_path: Path) -> float:
    return sum(p["cost_usd_month"]["p90"] for p in predict_plan(stack, settings(), None, tmp_path).values())


def test_stack_budget(stack, tmp_path: Path) -> None:
    total = _p90_total(stack, tmp_path)
    over = predicted_cost_within_budget(as_dicts(stack), settings(budgets={"stackMonthlyUsd": total - 1}),
                                        project_dir=tmp_path)
    assert len(over) == 1 and over[0][0] is None
    assert "exceeds guardrails:budgets.stackMonthlyUsd" in over[0][1]
    assert predicted_cost_within_budget(as_dicts(stack), settings(budgets={"stackMonthlyUsd": total + 1}),
                                        project_dir=tmp_path) == []


def test_service_budget_uses_configured_quantile(stack, tmp_path: Path) -> None:
    cfg = settings(budgets={"serviceMonthlyUsd": 5.0, "quantile": "p50"})
    violations = predicted_cost_within_budget(stack, cfg, project_dir=tmp_path)
    names = {msg.split(" ")[0] for _, msg in violations}
    assert "embeddings" in names  # declared $5.20 > $5.00
    assert all(urn for urn, _ in violations)


def test_cost_center_and_project_caps(tmp_path: Path) -> None:
    stack = [knative(tmp_path), *lambda_fn(tmp_path, annotations=DECLARED, cost_center=None)]
    cfg = settings(budgets={"costCenters": {"AI-Product-X": 0.01}, "projects": {"project-nova": 1e9}})
    violations = budget_cap_per_cost_center(stack, cfg, project_dir=tmp_path)
    messages = [m for _, m in violations]
    assert any(m.startswith("cost-center AI-Product-X: predicted P90") for m in messages)
    assert any("embeddings: no cost-center label/tag" in m for m in messages)
    assert not any(m.startswith("project-id") for m in messages)


def test_synthetic_change_risk_is_advisory_unless_the_stack_opts_in(stack, tmp_path: Path) -> None:
    # Trained only on synthetic data: reported but never blocking, in every environment, by default.
    for env in ("dev", "staging", "prod"):
        assert ml_risk_threshold(stack, settings(env, risk={"changeRiskThreshold": 0.0}), project_dir=tmp_path) == []
    opted_in = settings(risk={"changeRiskThreshold": 0.0, "enforceSyntheticChangeRisk": True})
    violations = ml_risk_threshold(stack, opted_in, project_dir=tmp_path)
    assert len(violations) == 2
    assert all("(model trained on SYNTHETIC data)" in m for _, m in violations)
    opted_in_high = settings(risk={"changeRiskThreshold": 1.0, "enforceSyntheticChangeRisk": True})
    assert ml_risk_threshold(stack, opted_in_high, project_dir=tmp_path) == []
    with pytest.raises(PredictionInputError, match="enforceSyntheticChangeRisk: Input should be a valid boolean"):
        prediction_settings({**settings(), "risk": {"enforceSyntheticChangeRisk": "yes"}})


def test_capacity_threshold(tmp_path: Path) -> None:
    busy = {"finops.apexlogic.com/expected-requests-per-month": "200000000",
            "finops.apexlogic.com/expected-p50-latency-ms": "800"}
    stack = lambda_fn(tmp_path, reserved=1, annotations=busy)
    violations = ml_risk_threshold(stack, settings(risk={"capacityRiskThreshold": 0.3}), project_dir=tmp_path)
    assert any("exceeds guardrails:risk.capacityRiskThreshold" in m for _, m in violations)


def test_anomaly_needs_declared_traffic_change(tmp_path: Path) -> None:
    before = [knative(tmp_path, min_scale=1, max_scale=2)]
    after = [knative(tmp_path, min_scale=1, max_scale=20)]
    flagged = cost_anomaly(as_dicts(after), settings(), previous=as_dicts(before), project_dir=tmp_path)
    assert len(flagged) == 1 and "max-scale goes from 2 to 20 (x10.0), above the allowed x2" in flagged[0][1]
    declared = [knative(tmp_path, min_scale=1, max_scale=20,
                        annotations={"finops.apexlogic.com/expected-traffic-change": "10"})]
    assert cost_anomaly(declared, settings(), previous=before, project_dir=tmp_path) == []
    assert cost_anomaly(after, settings(), previous=None, project_dir=tmp_path) == []  # nothing to compare


def test_anomaly_on_min_scale_cost_jump(tmp_path: Path) -> None:
    before = [knative(tmp_path, min_scale=1, max_scale=30)]
    after = [knative(tmp_path, min_scale=10, max_scale=30)]
    messages = [m for _, m in cost_anomaly(after, settings(), previous=before, project_dir=tmp_path)]
    assert any(m.startswith("inference: predicted P50 cost goes from") for m in messages)
    assert any("min-scale goes from 1 to 10" in m for m in messages)


def test_previous_state_from_stack_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = knative(tmp_path, max_scale=2)
    export = {"version": 3, "deployment": {"resources": [
        {"urn": before.urn, "type": before.type, "inputs": before.inputs, "custom": True},
        {"urn": "urn:pulumi:prod::p::pulumi:pulumi:Stack::p-prod", "type": "pulumi:pulumi:Stack"}]}}
    path = tmp_path / "state.json"
    path.write_text(json.dumps(export))
    assert [r["name"] for r in load_previous_state(path)] == ["inference", "p-prod"]
    monkeypatch.setenv("GUARDRAILS_PREVIOUS_STATE", str(path))
    after = [knative(tmp_path, max_scale=20)]
    assert cost_anomaly(after, settings(), project_dir=tmp_path)


def test_broken_models_fail_closed(stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import guardrails_predict.plan as plan

    monkeypatch.setenv("GUARDRAILS_MODELS_DIR", str(tmp_path / "no-models"))
    monkeypatch.setattr(plan, "_MODEL_CACHE", {})
    for check in (predicted_cost_within_budget, budget_cap_per_cost_center, ml_risk_threshold):
        violations = check(stack, settings(), project_dir=tmp_path)
        assert violations and violations[0][0] is None
        assert "predictions unavailable" in violations[0][1] and "model manifest missing" in violations[0][1]


def test_bad_threshold_fails_closed(stack, tmp_path: Path) -> None:
    bad = {**settings(), "risk": {"changeRiskThreshold": 5}}
    violations = ml_risk_threshold(stack, bad, project_dir=tmp_path)
    assert violations == [(None, "cost/risk predictions unavailable, so budgets and risk cannot be checked: "
                                 "stack settings: invalid stack settings\n"
                                 "  guardrails:risk.changeRiskThreshold: Input should be less than or equal to 1 "
                                 "(found 5)")]
