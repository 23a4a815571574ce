"""`predict_plan` end to end with the committed models (no mocks of our own logic)."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
import yaml
from guardrails_core.settings import StackSettings
from guardrails_core.values import UNKNOWN, plain
from guardrails_predict.change_risk import CHANGE_FEATURES
from guardrails_predict.features import CAPACITY_FEATURES, WORKLOAD_FEATURES
from guardrails_predict.model_store import ModelError
from guardrails_predict.plan import PredictionError, predict_plan
from guardrails_predict.pricing import LambdaConfig, LambdaUsage, lambda_monthly_cost
from guardrails_predict.resources import PredictionInputError

from preflight.engine.base import PlannedResource
from preflight.gitops import render_recommendation_patches
from tests.predict.helpers import knative, lambda_fn, with_inputs

DECLARED = {"finops.apexlogic.com/expected-requests-per-month": "2000000",
            "finops.apexlogic.com/expected-p50-latency-ms": "180"}


def settings(env: str = "prod", **kw) -> dict:
    return StackSettings(environment=env, aws_region="eu-west-1", **kw).model_dump(mode="json", by_alias=False)


def test_contract_shape_and_sources(tmp_path: Path) -> None:
    resources = [knative(tmp_path), *lambda_fn(tmp_path, annotations=DECLARED)]
    result = predict_plan(resources, settings(), None, tmp_path)
    assert set(result) == {"inference", "embeddings"}
    for name, pred in result.items():
        assert pred["kind"] in ("knative", "lambda")
        cost = pred["cost_usd_month"]
        assert 0 <= cost["p10"] <= cost["p50"] <= cost["p90"], name
        assert 0.0 <= pred["capacity_risk"]["probability"] <= 1.0
        assert set(pred["capacity_risk"]["contributions"]) <= {*CAPACITY_FEATURES, "bias"}
        assert pred["change_risk"]["synthetic_training"] is True
        assert set(pred["change_risk"]["contributions"]) <= {*CHANGE_FEATURES, "bias"}
        assert "saving_usd_month" in pred["recommendation"] and "patch" in pred["recommendation"]
        json.dumps(pred)  # the report serialises it as-is
    # Nothing declared: no workload model beats its unconditional baseline on held-out functions (metrics.json),
    # so the baselines are used and every source says so.
    inference = result["inference"]
    assert inference["workload"]["source"] == "baseline"
    assert all(s.startswith("baseline (") for s in inference["workload"]["sources"].values())
    assert inference["contributions"] == {}
    assert inference["capacity_risk"]["source"].startswith("baseline (capacity-only")
    assert result["embeddings"]["workload"]["source"] == "declared"
    assert result["embeddings"]["workload"]["sources"]["burstiness"] == "model"  # beats it given requests
    assert set(result["embeddings"]["contributions"]["burstiness"]) <= {*WORKLOAD_FEATURES, "bias"}
    assert result["embeddings"]["capacity_risk"]["source"] == "model"


def test_declared_lambda_cost_is_the_price_formula(tmp_path: Path) -> None:
    result = predict_plan(lambda_fn(tmp_path, annotations=DECLARED), settings(), None, tmp_path)["embeddings"]
    expected = lambda_monthly_cost(LambdaUsage(D(2_000_000), D(180)),
                                   LambdaConfig(1024, "arm64", "eu-west-1")).total_usd
    # 2M x $0.20/M + 2M x 0.18 s x 1 GB x $0.0000133334 = 0.40 + 4.80 = 5.20
    assert expected == D("5.20")
    exact = settings(budgets={"declaredUncertainty": 0})
    assert predict_plan(lambda_fn(tmp_path, annotations=DECLARED), exact, None, tmp_path)["embeddings"][
        "cost_usd_month"] == {"p10": 5.2, "p50": 5.2, "p90": 5.2}
    # Default ±20 %: P10 at 1.6M x 144 ms = 0.32 + 3.072 = 3.392, P90 at 2.4M x 216 ms = 0.48 + 6.912 = 7.392;
    # two independent equal-width log bands add in quadrature, so the comonotone band shrinks by 1/sqrt(2):
    # 5.2 x (3.392 / 5.2) ** 0.7071 = 3.844 and 5.2 x (7.392 / 5.2) ** 0.7071 = 6.668.
    assert result["cost_usd_month"] == {"p10": 3.84, "p50": 5.2, "p90": 6.67}


def test_usage_history_overrides_declaration(tmp_path: Path) -> None:
    (tmp_path / "usage").mkdir()
    samples = [{"date": f"2026-08-{d:02d}", "requests": 1000 * d, "meanDurationMs": 100 + d,
                "peakRequestsPerMinute": 20, "maxMemoryUsedMb": 300} for d in range(1, 11)]
    (tmp_path / "usage/emb.yaml").write_text(yaml.safe_dump({"schema": "usage-history/v1", "samples": samples}))
    annotations = {**DECLARED, "finops.apexlogic.com/usage-history": "usage/emb.yaml"}
    plan = predict_plan(lambda_fn(tmp_path, annotations=annotations), settings(), None, tmp_path)
    render_recommendation_patches(plan, tmp_path)  # the library says what to edit; preflight.gitops edits the file
    result = plan["embeddings"]
    assert result["recommendation"]["edits"]["changes"] == [{"path": ["spec", "memoryMib"], "value": 448,
                                                             "quote": False}]
    workload = result["workload"]
    assert workload["source"] == "history"
    # median of 1000..10000 per day = 5500 x 730/24
    assert workload["requests_per_month"]["p50"] == round(5500 * 730 / 24)
    # history max memory 300 MB -> 300 x 1.3 = 390 -> 448 MB (64 MB steps) instead of 1024
    change = result["recommendation"]["changes"]["memory_mb"]
    assert change == {"current": 1024, "recommended": 448, "why": change["why"]}
    assert result["recommendation"]["saving_usd_month"] > 0
    assert "-  memoryMib: 1024\n+  memoryMib: 448\n" in result["recommendation"]["patch"]


def test_rightsizing_min_scale_and_architecture_with_patch(tmp_path: Path) -> None:
    low = {"finops.apexlogic.com/expected-requests-per-month": "1000",
           "finops.apexlogic.com/expected-p50-latency-ms": "50"}
    resources = [knative(tmp_path, min_scale=4, annotations=low, environment="dev"),
                 *lambda_fn(tmp_path, arch="x86_64", annotations=DECLARED)]
    result = predict_plan(resources, settings("dev"), None, tmp_path)
    render_recommendation_patches(result, tmp_path)
    rec = result["inference"]["recommendation"]
    assert rec["changes"]["min_scale"]["recommended"] == 0  # 1000 req/month keeps no pod busy: scale to zero
    assert rec["saving_usd_month"] > 0
    assert '-        autoscaling.knative.dev/minScale: "4"   # keep one warm\n' in rec["patch"]
    assert '+        autoscaling.knative.dev/minScale: "0"   # keep one warm\n' in rec["patch"]
    lam = result["embeddings"]["recommendation"]
    assert lam["changes"]["architecture"]["recommended"] == "arm64"
    x86 = lambda_monthly_cost(LambdaUsage(D(2_000_000), D(180)), LambdaConfig(1024, "x86_64", "eu-west-1")).total
    arm = lambda_monthly_cost(LambdaUsage(D(2_000_000), D(180)), LambdaConfig(1024, "arm64", "eu-west-1")).total
    assert lam["saving_usd_month"] == float(round(x86 - arm, 2))
    assert "+  architecture: arm64" in lam["patch"]


def test_capacity_risk_falls_as_capacity_rises(tmp_path: Path) -> None:
    busy = {"finops.apexlogic.com/expected-requests-per-month": "200000000",
            "finops.apexlogic.com/expected-p50-latency-ms": "800"}
    small = predict_plan(lambda_fn(tmp_path, reserved=1, annotations=busy), settings(), None, tmp_path)
    large = predict_plan(lambda_fn(tmp_path, reserved=900, annotations=busy), settings(), None, tmp_path)
    assert small["embeddings"]["capacity_risk"]["probability"] > large["embeddings"]["capacity_risk"]["probability"]


def test_change_risk_reads_the_previous_state(tmp_path: Path) -> None:
    before = knative(tmp_path, labels={"networking.knative.dev/visibility": "cluster-local"})
    same = predict_plan([before], settings(), [before], tmp_path)["inference"]["change_risk"]
    assert same["features"]["updates"] == 0 and same["features"]["exposure_change"] == 0
    after = knative(tmp_path, max_scale=15)
    after = with_inputs(after, metadata={**after.inputs["metadata"], "namespace": "public"})
    risky = predict_plan([after], settings(), [before], tmp_path)["inference"]["change_risk"]
    assert risky["features"]["replacements"] == 1 and risky["features"]["exposure_change"] == 1
    assert risky["probability"] > same["probability"]
    unknown = predict_plan([after], settings(), None, tmp_path)["inference"]["change_risk"]
    assert unknown["features"]["replacements"] is None  # no previous state: unknown, not zero


def test_unknown_memory_fails_closed_naming_field(tmp_path: Path) -> None:
    with pytest.raises(PredictionInputError, match=r"services/embeddings\.yaml:1: memorySize: unknown at preview"):
        predict_plan(lambda_fn(tmp_path, memory=UNKNOWN), settings(), None, tmp_path)


def test_bad_annotation_is_named(tmp_path: Path) -> None:
    bad = {"finops.apexlogic.com/expected-requests-per-month": "lots"}
    with pytest.raises(PredictionInputError,
                       match=r"metadata\.annotations\.finops\.apexlogic\.com/expected-requests-per-month: 'lots'"):
        predict_plan([knative(tmp_path, annotations=bad)], settings(), None, tmp_path)


def test_unpriceable_region_is_a_prediction_error_with_partial_results(tmp_path: Path) -> None:
    resources = [knative(tmp_path), *lambda_fn(tmp_path, annotations=DECLARED)]
    with pytest.raises(PredictionError, match="no Lambda prices for region 'mars-1'") as info:
        predict_plan(resources, StackSettings(environment="prod", aws_region="mars-1"), None, tmp_path)
    assert set(info.value.partial) == {"inference"}


def test_missing_models_block(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model manifest missing"):
        predict_plan([knative(tmp_path)], settings(), None, tmp_path, models_dir=tmp_path / "empty")


def test_bad_budget_settings_are_named(tmp_path: Path) -> None:
    # A settings dict (what a caller may hand over instead of StackSettings) is validated again by the core's model.
    with pytest.raises(PredictionInputError, match=r"guardrails:budgets\.quantile: Input should be 'p10', 'p50' or"):
        predict_plan([knative(tmp_path)], {**settings(), "budgets": {"quantile": "p99"}}, None, tmp_path)
    with pytest.raises(PredictionInputError, match=r"guardrails:budgets\.monthly: Extra inputs .*allowed: quantile"):
        predict_plan([knative(tmp_path)], {**settings(), "budgets": {"monthly": 1}}, None, tmp_path)


def test_policy_proxies_and_sentinels_become_unknown() -> None:
    from guardrails_core.values import UNKNOWN_SENTINEL
    from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, unknown_checking_proxy

    proxied = unknown_checking_proxy({"memorySize": UNKNOWN_NUMBER_VALUE, "tags": {"a": "b"}, "list": [1]})
    assert plain(proxied) == {"memorySize": UNKNOWN, "tags": {"a": "b"}, "list": [1]}
    assert plain({"role": UNKNOWN_SENTINEL}) == {"role": UNKNOWN}


def test_stack_dicts_accepted_like_planned_resources(tmp_path: Path) -> None:
    res: PlannedResource = knative(tmp_path)
    as_dict = {"type": res.type, "name": res.name, "urn": res.urn, "props": res.inputs}
    assert predict_plan([as_dict], settings(), None, tmp_path) == predict_plan([res], settings(), None, tmp_path)


def test_unknown_change_features_are_never_drivers(tmp_path: Path) -> None:
    after = knative(tmp_path)
    change = predict_plan([after], settings(), None, tmp_path)["inference"]["change_risk"]
    unknown = {k for k, v in change["features"].items() if v is None}
    assert {"replacements", "scale_delta_log2", "policy_findings_high"} <= unknown
    assert not unknown & set(change["contributions"])
    assert change["enforced"] is False and change["enforcement"].startswith("advisory")


def test_report_and_gate_share_one_change_risk(tmp_path: Path) -> None:
    from guardrails_predict.guardrails import _predict

    before = knative(tmp_path, labels={"networking.knative.dev/visibility": "cluster-local"})
    after = knative(tmp_path, max_scale=15)
    cfg = settings(risk={"enforceSyntheticChangeRisk": True})
    report = predict_plan([after], cfg, [before], tmp_path)["inference"]["change_risk"]
    gate = _predict([after], cfg, [before], tmp_path).results["inference"]["change_risk"]
    assert report == gate and report["enforced"] is True and "opt-in" in report["enforcement"]


def test_usage_history_prediction_passes_the_report_schema(tmp_path: Path) -> None:
    from jsonschema import Draft202012Validator

    from preflight.report.schema import load_schema

    (tmp_path / "usage").mkdir()
    samples = [{"date": f"2026-08-{d:02d}", "requests": 1000 * d, "meanDurationMs": 100 + d,
                "peakRequestsPerMinute": 20} for d in range(1, 11)]
    (tmp_path / "usage/emb.yaml").write_text(yaml.safe_dump({"schema": "usage-history/v1", "samples": samples}))
    annotations = {"finops.apexlogic.com/usage-history": "usage/emb.yaml"}
    result = predict_plan(lambda_fn(tmp_path, annotations=annotations), settings(), None, tmp_path)["embeddings"]
    assert result["contributions"] == {}  # every quantity from history: no model contributions
    schema = load_schema()
    prediction = {"$defs": schema["$defs"], **schema["$defs"]["prediction"]}
    assert list(Draft202012Validator(prediction).iter_errors(json.loads(json.dumps(result)))) == []


def test_knative_cost_is_priced_over_the_burstiness_profile(tmp_path: Path) -> None:
    from guardrails_predict.costing import on_off_profile
    from guardrails_predict.pricing import KnativeScaling, KnativeWorkload, knative_monthly_cost, load_kubernetes_prices

    declared = {"finops.apexlogic.com/expected-requests-per-month": "500000000",
                "finops.apexlogic.com/expected-p50-latency-ms": "200"}
    pred = predict_plan([knative(tmp_path, min_scale=1, max_scale=15, annotations=declared)], settings(), None,
                        tmp_path)["inference"]
    wl = pred["workload"]
    assert wl["sources"]["burstiness"] == "model" and wl["burstiness"]["p50"] > 1
    prices = load_kubernetes_prices()
    scaling = KnativeScaling(D("1.5"), D(3), min_scale=1, max_scale=15, target=D(65))
    req, burst = D(str(wl["requests_per_month"]["p50"])), D(str(wl["burstiness"]["p50"]))
    expected = knative_monthly_cost(KnativeWorkload(req, D(200), profile=on_off_profile(req, burst, D(730))),
                                    scaling, prices).total_usd
    flat = knative_monthly_cost(KnativeWorkload(req, D(200)), scaling, prices).total_usd
    assert D(str(pred["cost_usd_month"]["p50"])) == expected
    assert expected > flat  # the busy hours need more than the one warm replica the mean rate needs


def test_lambda_init_billing_from_stack_settings(tmp_path: Path) -> None:
    init = {"declaredUncertainty": 0, "lambdaInit": {"coldStartFraction": 0.01, "initDurationMs": 800}}
    cost = predict_plan(lambda_fn(tmp_path, annotations=DECLARED), settings(budgets=init), None, tmp_path)[
        "embeddings"]["cost_usd_month"]
    # arm64 1 GB, 2M requests: billed ms per request = 180 + 0.01 x 800 = 188;
    # 2M x 0.188 s x 1 GB = 376,000 GB-s x $0.0000133334 = 5.0134 + requests 0.40 = $5.41 (vs $5.20 without INIT)
    assert cost == {"p10": 5.41, "p50": 5.41, "p90": 5.41}
    with pytest.raises(PredictionInputError, match=r"lambdaInit\.initDurationMs: Field required"):
        predict_plan(lambda_fn(tmp_path), {**settings(), "budgets": {"lambdaInit": {"coldStartFraction": 0.01}}},
                     None, tmp_path)
    with pytest.raises(PredictionInputError, match=r"lambdaInit\.coldStartFraction: Input should be less than or "
                                                   r"equal to 1 \(found 2\)"):
        predict_plan(lambda_fn(tmp_path), {**settings(), "budgets": {"lambdaInit": {"coldStartFraction": 2,
                                                                                     "initDurationMs": 1}}},
                     None, tmp_path)


def test_observed_pc_utilisation_prices_the_spill_over(tmp_path: Path) -> None:
    from guardrails_core.types import LAMBDA_PC_CONFIG
    from guardrails_predict.observed import ObservedPcUtilisation

    parent = "urn:pulumi:prod::serverless-guardrails::serverless-guardrails:aws:ServerlessFunction::embeddings"
    pc = PlannedResource(urn=f"{parent}$aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig::live",
                         type=LAMBDA_PC_CONFIG, name="live", custom=True, parent=parent, provider=None,
                         inputs={"provisionedConcurrentExecutions": 2}, source_file="services/embeddings.yaml",
                         source_line=1)
    declared = {"finops.apexlogic.com/expected-requests-per-month": "10000000",
                "finops.apexlogic.com/expected-p50-latency-ms": "200"}
    resources = lambda_fn(tmp_path, memory=512, arch="x86_64", annotations=declared, extra_children=[pc])
    exact = StackSettings(environment="prod", aws_region="us-east-1",
                          budgets={"declaredUncertainty": 0}).model_dump(mode="json", by_alias=False)
    # Without an observation traffic fills the 2 provisioned units first: 10M x 0.2 s x 0.5 GB = 1,000,000 GB-s
    # all at the PC-duration rate. $2.00 requests + 2 x 0.5 GB x 2,628,000 s x $0.0000041667 (10.9500876) +
    # 1,000,000 x $0.0000097222 (9.7222) = $22.67
    default = predict_plan(resources, exact, None, tmp_path)["embeddings"]
    assert default["cost_usd_month"]["p50"] == 22.67
    assert default["provisioned_concurrency"]["utilisation"] is None
    assert default["provisioned_concurrency"]["source"].startswith("assumed: traffic fills the provisioned")
    seen = ObservedPcUtilisation(0.25, "2026-11-01T00:00:00+00:00/2026-11-15T00:00:00+00:00", "2026-11-15",
                                 "out/observe/prod/observe.json")
    observed = predict_plan(resources, exact, None, tmp_path, observed_pc={"embeddings": seen})["embeddings"]
    # Observed 25 %: 0.25 x 2,628,000 = 657,000 GB-s served by PC (x $0.0000097222 = 6.3874854), the other
    # 343,000 GB-s spill over on demand (x $0.0000166667 = 5.7166781): 2.00 + 10.9500876 + 6.3874854 + 5.7166781
    # = 25.0542511 -> $25.05; the PC charge for both units stays whatever the traffic.
    assert observed["cost_usd_month"] == {"p10": 25.05, "p50": 25.05, "p90": 25.05}
    assert observed["line_items"] == {"provisioned_concurrency": 10.95, "provisioned_duration": 6.39,
                                      "requests": 2.0, "duration": 5.72}
    assert observed["provisioned_concurrency"] == {
        "units": 2, "utilisation": 0.25,
        "source": "observed PC utilisation 25.0% (2026-11-01T00:00:00+00:00/2026-11-15T00:00:00+00:00, measured "
                  "2026-11-15, out/observe/prod/observe.json)"}
    # An observation of another function, or of a function without PC, changes nothing
    assert predict_plan(resources, exact, None, tmp_path, observed_pc={"other": seen})["embeddings"][
        "cost_usd_month"]["p50"] == 22.67
    with pytest.raises(PredictionInputError, match="utilisation must be a share within 0..1"):
        ObservedPcUtilisation(1.2, "w", "d", "observe.json")
