"""Per-service workload (requests, mean duration, burstiness) as P10/P50/P90, from the best source at hand.

Precedence per quantity: the service's usage history > a declared annotation (with the stack's relative
uncertainty `guardrails:budgets.declaredUncertainty`) > the XGBoost quantile model (conditioned on whatever
was declared) where it beat its baseline on held-out functions, else the unconditional baseline quantiles
(source `baseline (...)`). Quantiles are always ascending (features.workload_quantiles). Predicted durations
are capped at the declared timeout (a request cannot run longer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from guardrails_predict.features import (
    QUANTILES,
    WORKLOAD_FEATURES,
    WorkloadInputs,
    WorkloadPolicy,
    for_target,
    hint_variant,
    with_requests_hint,
    workload_features,
    workload_quantiles,
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
    hint_variant: str = "none"  # which of requests / latency were declared (features.HINT_VARIANTS)

    @property
    def source(self) -> str:
        values = set(self.sources.values())
        if "history" in values:
            return "history"
        if "declared" in values:
            return "declared"
        return "model" if "model" in values else "baseline"

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
    return top_contributions_rows(row[np.newaxis, :], names, k)[0]


def top_contributions_rows(rows: np.ndarray, names: tuple[str, ...] | list[str], k: int = TOP_CONTRIBUTIONS
                           ) -> list[dict[str, float]]:
    """`top_contributions` of every row of a (n, features + 1) SHAP matrix, sorted in one call."""
    orders = np.argsort(-np.abs(rows[:, :-1]), axis=1, kind="stable")[:, :k].tolist()
    out = []
    for values, order in zip(rows.tolist(), orders, strict=True):  # Python floats: round() as on np.float64
        top = {names[i]: round(values[i], 4) for i in order if values[i] != 0}
        top["bias"] = round(values[-1], 4)
        out.append(top)
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


def _quantile_dict(values: list[float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in zip(QKEYS, values, strict=True)}


def workload_policy(models: dict[str, LoadedModel]) -> WorkloadPolicy:
    """Where each workload model beat its baseline (manifest `model_variants`) and the baseline quantiles."""
    try:
        return WorkloadPolicy(
            {t: frozenset(models[name].entry["model_variants"]) for t, name in enumerate(TARGET_MODELS)},
            {t: tuple(float(v) for v in models[name].entry["baseline_log10"])  # type: ignore[misc]
             for t, name in enumerate(TARGET_MODELS)})
    except (KeyError, TypeError, ValueError) as exc:
        raise PredictionInputError(f"model manifest: workload entries lack model_variants/baseline_log10 ({exc}); "
                                   "retrain with `preflight train workload`") from exc


def _source_label(kind: str, target: int, variant: str) -> str:
    if kind != "baseline":
        return kind
    return (f"baseline (the {TARGET_MODELS[target]} model does not beat the unconditional baseline with hints "
            f"'{variant}' on held-out functions; see models/metrics.json)")


def estimate_workloads(services: list[Service], models: dict[str, LoadedModel], domain: str,
                       project_dir: Path, declared_uncertainty: float = 0.0) -> dict[str, Workload]:
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
    for name in TARGET_MODELS:
        if models[name].features != list(WORKLOAD_FEATURES):
            raise PredictionInputError(f"model {name}: manifest features {models[name].features} do not match the "
                                       f"code's {list(WORKLOAD_FEATURES)}; retrain with `preflight train workload`")
    boosters = [models[name].booster for name in TARGET_MODELS]
    wq = workload_quantiles(lambda t, m: predict_rows(boosters[t], m, FEATURES), inputs, workload_policy(models),
                            declared_uncertainty)
    median = QUANTILES.index(0.5)
    keys = ("requests_per_month", "mean_duration_ms", "burstiness")
    features = workload_features(inputs)
    top: dict[int, dict[int, dict[str, float]]] = {}  # target -> row -> top contributions of the P50
    for target in range(3):
        rows = [i for i in range(len(inputs)) if wq.sources[target][i] == "model"]
        if not rows:
            continue
        matrix = for_target(features[rows], target)
        if target == 2:  # burstiness is chained: explain the P50 link (requests hint = the requests P50)
            matrix = with_requests_hint(matrix, wq.log10[0][rows, median])
        # (rows, quantiles, features + 1), SHAP values in log10 units
        shap = predict_rows(boosters[target], matrix, FEATURES, pred_contribs=True)
        top[target] = dict(zip(rows, top_contributions_rows(shap[:, median], WORKLOAD_FEATURES), strict=True))
    # All services at once: 10**, the timeout cap, the burstiness floor and the rounding are elementwise, so
    # this is the same as per service; a usage history's rows are put in before.
    req_all, dur_all, burst_all = (10 ** wq.log10[t] for t in range(3))
    for i, svc in enumerate(services):
        history = histories[svc.name]
        if history is not None:
            req_all[i], dur_all[i], burst_all[i] = (
                np.sort(np.array(q, dtype=np.float64))
                for q in (history.requests_per_month, history.mean_duration_ms, history.burstiness))
    timeout_ms = np.array([[svc.timeout_s * 1000.0] for svc in services], dtype=np.float64).reshape(-1, 1)
    dur_all = np.where(timeout_ms > 0, np.minimum(dur_all, timeout_ms), dur_all)  # monotone: keeps the order
    burst_all = np.maximum(burst_all, 1.0)
    requests_rows, duration_rows, burst_rows = (
        np.round(values, digits).tolist() for values, digits in ((req_all, 0), (dur_all, 3), (burst_all, 3)))
    out: dict[str, Workload] = {}
    for i, svc in enumerate(services):
        variant = hint_variant(inputs[i])
        history = histories[svc.name]
        sources = ({key: "history" for key in keys} if history is not None
                   else {key: _source_label(wq.sources[t][i], t, variant) for t, key in enumerate(keys)})
        out[svc.name] = Workload(
            requests_per_month=_quantile_dict(requests_rows[i]),
            mean_duration_ms=_quantile_dict(duration_rows[i]),
            burstiness=_quantile_dict(burst_rows[i]),
            sources=sources,
            contributions={key: top[t][i] for t, key in enumerate(keys) if sources[key] == "model"},
            history=history,
            hint_variant=variant,
        )
    return out
