"""`predict_plan`: cost, workload, capacity risk, change risk and rightsizing for every service in a plan."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from guardrails_predict.change_features import capacity_of, change_features
from guardrails_predict.change_risk import CHANGE_FEATURES
from guardrails_predict.config import PredictionSettings, prediction_settings
from guardrails_predict.costing import kubernetes_prices, service_cost
from guardrails_predict.features import CAPACITY_FEATURES, capacity_row, peak_concurrency
from guardrails_predict.model_store import LoadedModel, ModelError, load_all, predict_rows
from guardrails_predict.pricing import PricingError
from guardrails_predict.resources import PredictionInputError, to_views
from guardrails_predict.rightsizing import recommend
from guardrails_predict.services import Service, group_services
from guardrails_predict.workload import QKEYS, Workload, estimate_workloads, top_contributions


class PredictionError(RuntimeError):
    """Predictions could not be made for some services; blocks the gate. `partial` holds the rest."""

    def __init__(self, problems: list[str], partial: dict[str, dict[str, Any]] | None = None):
        super().__init__("; ".join(problems))
        self.problems = problems
        self.partial = partial or {}


@dataclass
class PlanPrediction:
    services: list[Service]
    workloads: dict[str, Workload]
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: PredictionSettings = field(default_factory=PredictionSettings)


_MODEL_CACHE: dict[str, dict[str, LoadedModel]] = {}


def cached_models(models_dir: Path | None) -> dict[str, LoadedModel]:
    """Models are loaded (and checksummed) once per directory per process."""
    key = str(models_dir)
    if key not in _MODEL_CACHE:
        _MODEL_CACHE[key] = load_all(models_dir)
    return _MODEL_CACHE[key]


def _cost_quantiles(svc: Service, wl: Workload, settings: PredictionSettings,
                    prices: Any) -> tuple[dict[str, float], Decimal]:
    """({p10, p50, p90} in USD rounded to cents, the exact P50 for savings arithmetic)."""
    costs = {q: service_cost(svc, wl.requests_per_month[q], wl.mean_duration_ms[q], settings, prices) for q in QKEYS}
    values = sorted(float(round(c, 2)) for c in costs.values())  # cost is monotone; sorting guards rounding
    return dict(zip(QKEYS, values, strict=True)), costs["p50"]


def _capacity(services: list[Service], workloads: dict[str, Workload], model: LoadedModel,
              settings: PredictionSettings) -> dict[str, dict[str, Any]]:
    rows, caps, peaks = [], [], []
    for svc in services:
        wl = workloads[svc.name]
        peak = [peak_concurrency(wl.requests_per_month[q], wl.mean_duration_ms[q], wl.burstiness[q]) for q in QKEYS]
        cap = capacity_of(svc, settings.max_scale_limit)
        rows.append(capacity_row(cap, *peak))
        caps.append(cap)
        peaks.append(peak)
    if not rows:
        return {}
    matrix = np.array(rows, dtype=np.float64)
    prob = predict_rows(model.booster, matrix, list(CAPACITY_FEATURES))
    contribs = predict_rows(model.booster, matrix, list(CAPACITY_FEATURES), pred_contribs=True)
    return {
        svc.name: {
            "probability": round(float(prob[i]), 4),
            "declared_capacity": round(caps[i], 2),
            "predicted_peak_concurrency": dict(zip(QKEYS, (round(p, 3) for p in peaks[i]), strict=True)),
            "contributions": top_contributions(contribs[i], CAPACITY_FEATURES),
        }
        for i, svc in enumerate(services)
    }


def _change_risk(services: list[Service], previous: list[Service] | None, model: LoadedModel,
                 settings: PredictionSettings, findings: Sequence[Any] | None) -> dict[str, dict[str, Any]]:
    before = {s.name: s for s in previous or []}
    feature_rows = [change_features(svc, before.get(svc.name), previous is not None, settings.environment,
                                    findings, settings.max_scale_limit) for svc in services]
    if not feature_rows:
        return {}
    matrix = np.array([[row[f] for f in CHANGE_FEATURES] for row in feature_rows], dtype=np.float64)
    prob = predict_rows(model.booster, matrix, list(CHANGE_FEATURES))
    contribs = predict_rows(model.booster, matrix, list(CHANGE_FEATURES), pred_contribs=True)
    return {
        svc.name: {
            "probability": round(float(prob[i]), 4),
            "contributions": top_contributions(contribs[i], CHANGE_FEATURES),
            "features": {k: (None if np.isnan(v) else v) for k, v in feature_rows[i].items()},
            "synthetic_training": model.synthetic,
            "trained_on": model.entry.get("trained_on"),
        }
        for i, svc in enumerate(services)
    }


def predict_services(resources: Sequence[Any], settings: Any, previous: Sequence[Any] | None,
                     project_dir: Path | None,
                     findings: Sequence[Any] | None = None, models_dir: Path | None = None,
                     with_recommendations: bool = True) -> PlanPrediction:
    """Everything `predict_plan` returns, plus the parsed services (the guardrails reuse them)."""
    project_dir = Path(project_dir) if project_dir is not None else None
    cfg = prediction_settings(settings)
    models = cached_models(models_dir)  # ModelError propagates: a missing/corrupt model blocks the gate
    services = group_services(to_views(resources))
    if not services:  # nothing to price (e.g. a stack with no declarations): no predictions, not an error
        return PlanPrediction(services, {}, settings=cfg)
    previous_services = group_services(to_views(previous)) if previous is not None else None
    workloads = estimate_workloads(services, models, cfg.annotation_domain, project_dir)
    prices = kubernetes_prices(cfg)
    capacity = _capacity(services, workloads, models["capacity-risk"], cfg)
    change = _change_risk(services, previous_services, models["change-risk"], cfg, findings)
    plan = PlanPrediction(services, workloads, settings=cfg)
    problems: list[str] = []
    for svc in services:
        wl = workloads[svc.name]
        try:
            cost, current_p50 = _cost_quantiles(svc, wl, cfg, prices)
            recommendation = (recommend(svc, wl, cfg, prices, project_dir, current_p50,
                                        capacity[svc.name]["probability"]) if with_recommendations
                              else {"changes": {}, "saving_usd_month": 0.0, "patch": None})
        except (PricingError, PredictionInputError) as exc:
            problems.append(f"{svc.source}: {svc.name}: {exc}")
            continue
        plan.results[svc.name] = {
            "kind": svc.kind,
            "file": svc.primary.source_file,
            "line": svc.primary.source_line,
            "urn": svc.primary.urn,
            "cost_center": svc.labels.get("cost-center"),
            "project_id": svc.labels.get("project-id"),
            "cost_usd_month": cost,
            "capacity_risk": capacity[svc.name],
            "change_risk": change[svc.name],
            "contributions": wl.contributions,
            "workload": wl.as_dict(),
            "recommendation": recommendation,
        }
    if problems:
        raise PredictionError(problems, plan.results)
    return plan


def predict_plan(resources: Sequence[Any], settings: Any, previous: Sequence[Any] | None, project_dir: Path,
                 findings: Sequence[Any] | None = None, models_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """Per service: kind, cost_usd_month {p10,p50,p90}, capacity_risk, change_risk (synthetic_training flag),
    contributions, workload (source declared|history|model) and recommendation (saving_usd_month, patch).

    Raises `ModelError` (missing/corrupt model), `PredictionInputError` (bad declaration/settings) or
    `PredictionError` (some services could not be priced; `.partial` has the others). All must block the gate.
    """
    return predict_services(resources, settings, previous, project_dir, findings, models_dir).results


__all__ = ["ModelError", "PredictionError", "PredictionInputError", "predict_plan", "predict_services"]
