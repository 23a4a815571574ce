"""The batched prediction paths (issue 17) give exactly what the one-row / one-point forms give.

Predictions build their matrices for all services at once, stack the burstiness chain into one XGBoost call,
price a service's three workload points in one engine call and each distinct (configuration, point) once per
plan. Each test below recomputes the same figures the straightforward way and asserts equality (bit for bit, or
Decimal for Decimal), on generated declarations of every shape.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from guardrails_core.settings import StackSettings
from guardrails_predict.config import prediction_settings
from guardrails_predict.costing import kubernetes_prices, priced_points, priced_service
from guardrails_predict.features import (
    BURST_TARGET,
    TRIGGER_COLUMNS,
    WORKLOAD_FEATURES,
    WorkloadInputs,
    burstiness_given_requests,
    for_target,
    workload_features,
    workload_matrix,
    workload_row,
)
from guardrails_predict.model_store import distinct_rows, predict_rows
from guardrails_predict.plan import cached_models, predict_services
from guardrails_predict.workload import FEATURES, QKEYS, TARGET_MODELS, top_contributions_rows

from tests.predict.test_quantile_order import _declarations


def _inputs(n: int, seed: int = 7) -> list[WorkloadInputs]:
    rng = random.Random(seed)
    maybe = lambda values: rng.choice([None, *values])  # noqa: E731
    return [WorkloadInputs(memory_mb=maybe([128.0, 1536.0, 10240.0, 0.0]),
                           trigger=maybe([*TRIGGER_COLUMNS, "kafka"]),
                           declared_requests_per_month=maybe([1.0, 3e4, 2.5e8]),
                           declared_p50_latency_ms=maybe([0.5, 20.0, 9000.0])) for _ in range(n)]


def test_feature_matrix_equals_row_by_row() -> None:
    inputs = _inputs(400)
    reference = np.array([workload_row(r) for r in inputs], dtype=np.float64)
    assert np.array_equal(workload_features(inputs), reference, equal_nan=True)
    assert workload_features([]).shape == (0, len(WORKLOAD_FEATURES))


def test_chained_burstiness_equals_one_prediction_per_column() -> None:
    booster = cached_models(None)[TARGET_MODELS[BURST_TARGET]].booster
    inputs = _inputs(300, seed=11)
    requests_log10 = np.sort(np.random.default_rng(3).uniform(0, 9, size=(len(inputs), 3)), axis=1)

    def predict_burst(matrix: np.ndarray) -> np.ndarray:
        return np.sort(predict_rows(booster, matrix, FEATURES), axis=1)

    reference = np.empty_like(requests_log10)
    for j in range(3):  # the chain as first written: one matrix, and one prediction, per requests quantile
        rows = [replace(inp, declared_requests_per_month=float(10 ** requests_log10[i, j]))
                for i, inp in enumerate(inputs)]
        reference[:, j] = predict_burst(workload_matrix(rows, BURST_TARGET))[:, j]
    batched = burstiness_given_requests(predict_burst, for_target(workload_features(inputs), BURST_TARGET),
                                        requests_log10)
    assert np.array_equal(batched, reference)


def test_distinct_rows_scatter_back_to_the_matrix() -> None:
    rng = np.random.default_rng(5)
    matrix = rng.integers(0, 4, size=(500, 6)).astype(np.float64)
    matrix[rng.random(matrix.shape) < 0.3] = np.nan
    unique, inverse = distinct_rows(matrix)
    assert np.array_equal(unique[inverse], matrix, equal_nan=True)
    keys = np.where(np.isnan(matrix), np.inf, matrix)
    assert len(unique) == len(np.unique(keys, axis=0))


def test_top_contributions_of_all_rows_equal_one_row_at_a_time() -> None:
    rng = np.random.default_rng(9)
    rows = rng.normal(size=(200, len(WORKLOAD_FEATURES) + 1)).astype(np.float32)
    rows[rng.random(rows.shape) < 0.2] = 0.0
    rows[:5, :3] = 0.25  # ties: the stable order keeps the first feature first
    for row, batched in zip(rows, top_contributions_rows(rows, WORKLOAD_FEATURES), strict=True):
        order = np.argsort(-np.abs(row[:-1]), kind="stable")[:5]
        reference = {WORKLOAD_FEATURES[i]: round(float(row[i]), 4) for i in order if row[i] != 0}
        reference["bias"] = round(float(row[-1]), 4)
        assert batched == reference
        assert list(batched) == list(reference)


@pytest.mark.parametrize("stack", [
    {"environment": "prod", "aws_region": "us-east-1"},
    {"environment": "dev", "aws_region": "us-east-2", "budgets": {"freeTier": True}},
    {"environment": "staging", "aws_region": "us-east-1",
     "budgets": {"lambdaInit": {"coldStartFraction": 0.02, "initDurationMs": 350}}},
])
def test_plan_prices_equal_one_point_at_a_time(tmp_path: Path, stack: dict) -> None:
    """Every service's P10/P50/P90 priced through the plan (batched, once per distinct point) equals the engine
    called once per point with no memo; the plan's rounded figures follow from those."""
    settings = StackSettings(**stack)
    plan = predict_services(_declarations(300), settings, None, tmp_path)
    cfg, prices = prediction_settings(settings), kubernetes_prices(prediction_settings(settings))
    shared: dict = {}
    for svc in plan.services:
        wl = plan.workloads[svc.name]
        points = [(wl.requests_per_month[q], wl.mean_duration_ms[q], wl.burstiness[q]) for q in QKEYS]
        one_by_one = [priced_service(svc, r, d, cfg, prices, b) for r, d, b in points]
        for batched in (priced_points(svc, points, cfg, prices), priced_points(svc, points, cfg, prices, memo=shared)):
            assert [c.total for c in batched] == [c.total for c in one_by_one], svc.name
            assert [c.components for c in batched] == [c.components for c in one_by_one], svc.name
        p50 = one_by_one[1]
        assert plan.results[svc.name]["line_items"] == {k: round(float(v), 2) for k, v in p50.components.items()}
