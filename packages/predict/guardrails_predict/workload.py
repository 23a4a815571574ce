"""Per-service workload (requests, mean duration, burstiness) as P10/P50/P90, from the best source at hand.

Precedence per quantity: the service's usage history > a declared annotation > the XGBoost quantile model
(conditioned on whatever was declared). Burstiness cannot be declared, so without history it comes from
the model. Predicted durations are capped at the declared timeout (a request cannot run longer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from guardrails_predict.features import (
    QUANTILES,
    WORKLOAD_FEATURES,
    WorkloadInputs,
    burstiness_given_requests,
    workload_matrix,
)
from guardrails_predict.model_store import LoadedModel, predict_rows
from guardrails_predict.resources import PredictionInputError
from guardrails_predict.services import Service
from guardrails_predict.usage_history import UsageHistory, load_usage_history

TARGET_MODELS = ("workload-requests", "workload-duration", "workload-burstiness")
QKEYS = ("p10", "p50", "p90")
TOP_CONTRIBUTIONS = 5
FEATURES = list(WORKLOAD_FEATURES)


@dataclass
class Workload:
    requests_per_month: dict[str, float]
    mean_duration_ms: dict[str, float]
    burstiness: dict[str, float]
    sources: dict[str, str]
    contributions: dict[str, dict[str, float]] = field(default_factory=dict)
    history: UsageHistory | None = None

    @property
    def source(self) -> str:
        values = set(self.sources.values())
        if "history" in values:
            return "history"
        return "declared" if "declared" in values else "model"

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests_per_month": self.requests_per_month,
            "mean_duration_ms": self.mean_duration_ms,
            "burstiness": self.burstiness,
            "source": self.source,
            "sources": self.sources,
        }


def top_contributions(row: np.ndarray, names: tuple[str, ...] | list[str], k: int = TOP_CONTRIBUTIONS
                      ) -> dict[str, float]:
    """Largest |SHAP| features of one row (the last column is the bias and is reported as `bias`)."""
    order = np.argsort(-np.abs(row[:-1]), kind="stable")[:k]
    out = {names[i]: round(float(row[i]), 4) for i in order if row[i] != 0}
    out["bias"] = round(float(row[-1]), 4)
    return out


def _declared(service: Service, key: str, domain: str) -> float | None:
    annotation = f"finops.{domain}/{key}"
    raw = service.annotations.get(annotation)
    if raw is None:
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise service.field_error(f"metadata.annotations.{annotation}", f"{raw!r} must be a number > 0")
    return value


def _quantile_dict(values: tuple[float, float, float] | np.ndarray) -> dict[str, float]:
    return {k: round(float(v), 3) for k, v in zip(QKEYS, values, strict=True)}


def estimate_workloads(services: list[Service], models: dict[str, LoadedModel], domain: str,
                       project_dir: Path) -> dict[str, Workload]:
    histories: dict[str, UsageHistory | None] = {}
    inputs: list[WorkloadInputs] = []
    for svc in services:
        annotation = f"finops.{domain}/usage-history"
        path = svc.annotations.get(annotation)
        histories[svc.name] = load_usage_history(project_dir, path, annotation) if path else None
        inputs.append(WorkloadInputs(
            memory_mb=svc.memory_mb or None,
            trigger=svc.trigger,
            declared_requests_per_month=_declared(svc, "expected-requests-per-month", domain),
            declared_p50_latency_ms=_declared(svc, "expected-p50-latency-ms", domain),
        ))
    predictions: list[np.ndarray] = []
    contributions: list[np.ndarray] = []
    for target, name in enumerate(TARGET_MODELS):
        model = models[name]
        if model.features != list(WORKLOAD_FEATURES):
            raise PredictionInputError(f"model {name}: manifest features {model.features} do not match the code's "
                                       f"{list(WORKLOAD_FEATURES)}; retrain with `preflight train workload`")
        matrix = workload_matrix(inputs, target)
        predictions.append(np.sort(predict_rows(model.booster, matrix, FEATURES), axis=1))
        if target != 2:  # burstiness contributions come from the chained run below
            # (n, quantiles, features + 1), SHAP values in log10 units
            contributions.append(predict_rows(model.booster, matrix, FEATURES, pred_contribs=True))
    # Burstiness is chained on the requests quantiles (see features.burstiness_given_requests); its
    # contributions are those of the P50 link of the chain.
    requests_log10 = np.array([
        np.full(3, math.log10(inp.declared_requests_per_month)) if inp.declared_requests_per_month
        else predictions[0][i] for i, inp in enumerate(inputs)]).reshape(len(inputs), 3)
    burst_model = models[TARGET_MODELS[2]].booster

    def predict_burst(matrix: np.ndarray) -> np.ndarray:
        return np.sort(predict_rows(burst_model, matrix, FEATURES), axis=1)

    if inputs:
        predictions[2] = burstiness_given_requests(predict_burst, inputs, requests_log10)
        chained = [replace(inp, declared_requests_per_month=float(10 ** requests_log10[i, 1]))
                   for i, inp in enumerate(inputs)]
        contributions.append(predict_rows(burst_model, workload_matrix(chained, 2), FEATURES, pred_contribs=True))
    median = QUANTILES.index(0.5)
    out: dict[str, Workload] = {}
    for i, svc in enumerate(services):
        declared_req, declared_lat = inputs[i].declared_requests_per_month, inputs[i].declared_p50_latency_ms
        model_q = [10 ** predictions[t][i] for t in range(3)]
        history = histories[svc.name]
        sources = {"requests_per_month": "model", "mean_duration_ms": "model", "burstiness": "model"}
        req, dur, burst = model_q
        if declared_req is not None:
            req, sources["requests_per_month"] = np.full(3, declared_req), "declared"
        if declared_lat is not None:
            dur, sources["mean_duration_ms"] = np.full(3, declared_lat), "declared"
        if history is not None:
            req, dur, burst = (np.array(history.requests_per_month), np.array(history.mean_duration_ms),
                               np.array(history.burstiness))
            sources = {k: "history" for k in sources}
        if svc.timeout_s > 0:
            dur = np.minimum(dur, svc.timeout_s * 1000.0)
        burst = np.maximum(burst, 1.0)
        out[svc.name] = Workload(
            requests_per_month=_quantile_dict(np.round(req, 0)),
            mean_duration_ms=_quantile_dict(np.round(dur, 3)),
            burstiness=_quantile_dict(np.round(burst, 3)),
            sources=sources,
            contributions={
                key: top_contributions(contributions[t][i, median], WORKLOAD_FEATURES)
                for t, key in enumerate(("requests_per_month", "mean_duration_ms", "burstiness"))
                if sources[key] == "model"
            },
            history=history,
        )
    return out
