"""P10 <= P50 <= P90 for every target and for cost: over the whole held-out set and 1,000 generated declarations."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from guardrails_core.settings import StackSettings
from guardrails_predict.features import WorkloadInputs, workload_quantiles
from guardrails_predict.model_store import predict_rows
from guardrails_predict.plan import cached_models, calibrated_band, predict_plan
from guardrails_predict.training import ALL_VARIANTS, hint_variants, split_trace
from guardrails_predict.workload import FEATURES, TARGET_MODELS, workload_policy

from preflight.engine.base import PlannedResource

QKEYS = ("p10", "p50", "p90")


def _ascending(band: dict[str, float]) -> bool:
    return band["p10"] <= band["p50"] <= band["p90"]


def _shipped_predictor():
    models = cached_models(None)
    boosters = [models[name].booster for name in TARGET_MODELS]
    return models, (lambda t, m: predict_rows(boosters[t], m, FEATURES))


def test_held_out_functions_never_cross(trace_dir: Path) -> None:
    data = split_trace(trace_dir)
    inputs = [row for fn in data.test for row in hint_variants(fn, ALL_VARIANTS)]
    models, predict = _shipped_predictor()
    for policy in (None, workload_policy(models)):  # the raw models and the product (with baseline fallbacks)
        for uncertainty in (0.0, 0.3):
            wq = workload_quantiles(predict, inputs, policy, uncertainty)
            for target in range(3):
                assert np.all(np.diff(wq.log10[target], axis=1) >= 0), (target, policy, uncertainty)
    # The raw outputs do cross (that is what the rearrangement is for); the count is reported in metrics.json.
    assert workload_quantiles(predict, inputs).raw_crossings > 0


def _declarations(n: int) -> list[PlannedResource]:
    rng = random.Random(20261201)
    out: list[PlannedResource] = []
    for i in range(n):
        annotations = {}
        if rng.random() < 0.5:
            annotations["finops.apexlogic.com/expected-requests-per-month"] = str(rng.choice([1, 50, 10**4, 10**6,
                                                                                               3 * 10**8]))
        if rng.random() < 0.5:
            annotations["finops.apexlogic.com/expected-p50-latency-ms"] = str(rng.choice([1, 20, 350, 9000]))
        if i % 2 == 0:
            props = {"metadata": {"name": f"svc-{i}", "annotations": annotations},
                     "spec": {"template": {
                         "metadata": {"annotations": {"autoscaling.knative.dev/min-scale": str(rng.choice([0, 1, 3])),
                                                      "autoscaling.knative.dev/max-scale": str(rng.choice([3, 20]))}},
                         "spec": {"containerConcurrency": rng.choice([0, 1, 50]),
                                  "timeoutSeconds": rng.choice([1, 300]),
                                  "containers": [{"resources": {"requests": {
                                      "cpu": f"{rng.choice([50, 500, 4000])}m",
                                      "memory": f"{rng.choice([64, 512, 16384])}Mi"}}}]}}}}
            out.append(PlannedResource(f"urn:k{i}", "kubernetes:serving.knative.dev/v1:Service", f"svc-{i}", True,
                                       None, None, props))
        else:
            parent = f"urn:p{i}::fn-{i}"
            component = PlannedResource(parent, "serverless-guardrails:aws:ServerlessFunction", f"fn-{i}", False,
                                        None, None, {"declaration": {"source": "x.yaml:1", "document": {
                                            "metadata": {"annotations": annotations},
                                            "spec": {"trigger": rng.choice(["http", "queue", "timer"])}}}})
            props = {"name": f"fn-{i}", "memorySize": rng.choice([128, 1024, 10240]),
                     "timeout": rng.choice([1, 30, 900]), "architectures": [rng.choice(["x86_64", "arm64"])],
                     "reservedConcurrentExecutions": rng.choice([-1, 1, 100])}
            out += [component, PlannedResource(f"{parent}$aws:lambda/function:Function::fn-{i}",
                                               "aws:lambda/function:Function", f"fn-{i}", True, parent, None, props)]
    return out


def test_one_thousand_generated_declarations_never_cross(tmp_path: Path) -> None:
    settings = StackSettings(environment="prod", aws_region="us-east-1").model_dump(mode="json", by_alias=False)
    result = predict_plan(_declarations(1000), settings, None, tmp_path)
    assert len(result) == 1000
    for name, pred in result.items():
        workload = pred["workload"]
        for key in ("requests_per_month", "mean_duration_ms", "burstiness"):
            assert _ascending(workload[key]), (name, key, workload[key])
        assert _ascending(pred["capacity_risk"]["predicted_peak_concurrency"]), name
        assert _ascending(pred["cost_usd_month"]), (name, pred["cost_usd_month"])


@pytest.mark.parametrize("scale", [0.3, 0.7071, 1.0, 1.5])
def test_calibrated_band_keeps_order_and_median(scale: float) -> None:
    costs = {"p10": Decimal("2"), "p50": Decimal("8"), "p90": Decimal("32")}
    low, mid, high = calibrated_band(costs, scale)
    assert low <= mid <= high and mid == 8.0
    assert low == pytest.approx(8 / 4 ** scale) and high == pytest.approx(8 * 4 ** scale)
    assert calibrated_band({"p10": Decimal(0), "p50": Decimal(1), "p90": Decimal(2)}, scale) == [0.0, 1.0, 2.0]


def test_declared_uncertainty_band() -> None:
    inputs = [WorkloadInputs(512, None, declared_requests_per_month=1000.0, declared_p50_latency_ms=100.0)]
    _, predict = _shipped_predictor()
    wq = workload_quantiles(predict, inputs, None, 0.25)
    assert 10 ** wq.log10[0][0] == pytest.approx([750, 1000, 1250])
    assert 10 ** wq.log10[1][0] == pytest.approx([75, 100, 125])
    assert wq.sources[0] == ["declared"] and wq.sources[1] == ["declared"]
