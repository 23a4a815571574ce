"""`predict_plan`: cost, workload, capacity risk, change risk and rightsizing for every service in a plan."""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from guardrails_predict.change_features import capacity_of, change_features
from guardrails_predict.change_risk import CHANGE_FEATURES
from guardrails_predict.config import PredictionSettings, prediction_settings
from guardrails_predict.costing import PriceMemo, kubernetes_prices, priced_points
from guardrails_predict.features import CAPACITY_FEATURES, capacity_row, peak_concurrency
from guardrails_predict.model_store import CostBand, LoadedModel, ModelError, load_all, load_cost_band, predict_rows
from guardrails_predict.observed import DEFAULT_PC_SOURCE, ObservedPcUtilisation
from guardrails_predict.pricing import PricingError
from guardrails_predict.pricing.currency import ExchangeRate
from guardrails_predict.resources import PredictionInputError, to_views
from guardrails_predict.rightsizing import recommend
from guardrails_predict.services import Service, group_services
from guardrails_predict.workload import QKEYS, Workload, estimate_workloads, top_contributions_rows


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


_MODEL_CACHE: dict[str, tuple[dict[str, LoadedModel], CostBand]] = {}
_MODEL_CACHE_LOCK = threading.Lock()


def cached_models(models_dir: Path | None) -> dict[str, LoadedModel]:
    """Models are loaded (and checksummed) once per directory per process."""
    return _cached(models_dir)[0]


def _cached(models_dir: Path | None) -> tuple[dict[str, LoadedModel], CostBand]:
    key = str(models_dir)
    with _MODEL_CACHE_LOCK:  # the policy pack loads them in a background thread while it serves (issue 17)
        if key not in _MODEL_CACHE:
            _MODEL_CACHE[key] = (load_all(models_dir), load_cost_band(models_dir))
        return _MODEL_CACHE[key]


def calibrated_band(costs: dict[str, Decimal], scale: float) -> list[float]:
    """Shrink (scale < 1) or widen the comonotone band around P50 in log space, as calibrated by training.

    Pricing P10 requests with P10 duration (and P90 with P90) treats them as moving together; in the trace
    they are nearly independent, so that band over-covers. `scale` is the split-conformal factor that gave 80 %
    coverage out of fold (training.calibrate_cost_bands). A zero cost has no log: the band is then left as is."""
    low, mid, high = (float(costs[q]) for q in QKEYS)
    if scale == 1.0 or min(low, mid, high) <= 0:
        return sorted([low, mid, high])
    log_mid = math.log(mid)
    return sorted([math.exp(log_mid - scale * (log_mid - math.log(low))), mid,
                   math.exp(log_mid + scale * (math.log(high) - log_mid))])


def _cost_quantiles(svc: Service, wl: Workload, settings: PredictionSettings, prices: Any, band: CostBand,
                    memo: PriceMemo | None = None) -> tuple[dict[str, float], Decimal, dict[str, float]]:
    """({p10, p50, p90} in USD rounded to cents, the exact P50 for savings arithmetic, the P50 workload's line
    items - the bill's lines, which add up to the P50 price before calibration)."""
    points = [(wl.requests_per_month[q], wl.mean_duration_ms[q], wl.burstiness[q]) for q in QKEYS]
    priced = dict(zip(QKEYS, priced_points(svc, points, settings, prices, memo=memo), strict=True))
    line_items = {item: round(float(usd), 2) for item, usd in priced["p50"].components.items()}
    costs = {q: cost.total for q, cost in priced.items()}
    # P50 is the cost of the P50 workload. Knative cost is not monotone in burstiness (a burst needs more
    # replicas, but a scale-to-zero service idles longer), so the band's ends are the cheapest and dearest of
    # the three priced points rather than the P10 and P90 points themselves.
    costs = {"p10": min(costs.values()), "p50": costs["p50"], "p90": max(costs.values())}
    # A usage history's day quantiles are observed together, so its band is priced as is.
    scale = 1.0 if wl.history is not None else band.scale_for(wl.hint_variant)
    values = sorted(round(v, 2) for v in calibrated_band(costs, scale))  # sorting guards rounding
    return dict(zip(QKEYS, values, strict=True)), costs["p50"], line_items


def converted_cost(usd: dict[str, float], line_items: dict[str, float], rate: ExchangeRate) -> dict[str, Any]:
    """{currency, p10, p50, p90, line_items} in the stack's currency from the USD figures."""
    return {"currency": rate.code, **{q: rate.convert(usd[q]) for q in QKEYS},
            "line_items": {item: rate.convert(value) for item, value in line_items.items()}}


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
    try:
        used = {str(k): bool(v) for k, v in model.entry["model_used"].items()}
        grid = np.array(model.entry["baseline"]["capacity_log10"], dtype=np.float64)
        rates = np.array(model.entry["baseline"]["exceedance_rate"], dtype=np.float64)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"capacity-risk manifest entry lacks model_used/baseline ({exc!r}); "
                         "retrain with `preflight train capacity`") from exc
    matrix = np.array(rows, dtype=np.float64)
    prob = predict_rows(model.booster, matrix, list(CAPACITY_FEATURES)).tolist()
    modelled = [i for i, svc in enumerate(services)
                if workloads[svc.name].history is not None or used.get(workloads[svc.name].hint_variant, False)]
    # SHAP only for the rows that report it (the others use the baseline), explained in one call.
    explained = dict(zip(modelled, top_contributions_rows(
        predict_rows(model.booster, matrix[modelled], list(CAPACITY_FEATURES), pred_contribs=True),
        CAPACITY_FEATURES), strict=True)) if modelled else {}
    out = {}
    for i, svc in enumerate(services):
        variant = workloads[svc.name].hint_variant
        entry: dict[str, Any] = {
            "declared_capacity": round(caps[i], 2),
            "predicted_peak_concurrency": dict(zip(QKEYS, (round(p, 3) for p in peaks[i]), strict=True)),
        }
        if i in explained:
            entry.update(probability=round(prob[i], 4), source="model", contributions=explained[i])
        else:
            # The capacity-only baseline: on held-out functions with these hints the model did not beat it.
            rate = float(np.interp(math.log10(max(caps[i], 1e-6)), grid, rates))
            entry.update(probability=round(rate, 4), contributions={},
                         source=f"baseline (capacity-only exceedance rate; the capacity-risk model does not beat "
                                f"it with hints '{variant}' on held-out functions, see models/metrics.json)")
        out[svc.name] = entry
    return out


def _change_risk(services: list[Service], previous: list[Service] | None, model: LoadedModel,
                 settings: PredictionSettings) -> dict[str, dict[str, Any]]:
    """The one change-risk computation, for the report and the gate alike.

    Policy findings are left unknown (NaN, the model's learned default): the CrossGuard gate cannot see the other
    controls' results, and a figure that differs between the report and the gate cannot be trusted by either."""
    before = {s.name: s for s in previous or []}
    feature_rows = [change_features(svc, before.get(svc.name), previous is not None, settings.environment,
                                    None, settings.max_scale_limit) for svc in services]
    if not feature_rows:
        return {}
    matrix = np.array([[row[f] for f in CHANGE_FEATURES] for row in feature_rows], dtype=np.float64)
    prob = predict_rows(model.booster, matrix, list(CHANGE_FEATURES)).tolist()
    contribs = predict_rows(model.booster, matrix, list(CHANGE_FEATURES), pred_contribs=True)
    # A feature that is unknown (no previous state, no findings) is not a reason: drop it from the drivers.
    known = np.hstack([~np.isnan(matrix), np.ones((len(matrix), 1), dtype=bool)])
    drivers = top_contributions_rows(np.where(known, contribs, 0.0), CHANGE_FEATURES)
    enforced = not model.synthetic or settings.enforce_synthetic_change_risk
    if not model.synthetic:
        enforcement = "enforced (model trained on the team's own deployment outcomes)"
    elif enforced:
        enforcement = "enforced by opt-in (guardrails:risk.enforceSyntheticChangeRisk: true) on a SYNTHETIC model"
    else:
        enforcement = ("advisory: the model is trained on SYNTHETIC data only; retrain with "
                       "`preflight train risk --history` or set guardrails:risk.enforceSyntheticChangeRisk: true")
    out = {}
    for i, svc in enumerate(services):
        out[svc.name] = {
            "probability": round(prob[i], 4),
            "contributions": drivers[i],
            "features": {k: (None if math.isnan(v) else v) for k, v in feature_rows[i].items()},
            "synthetic_training": model.synthetic,
            "trained_on": model.entry.get("trained_on"),
            "enforced": enforced,
            "enforcement": enforcement,
        }
    return out


def predict_services(resources: Sequence[Any], settings: Any, previous: Sequence[Any] | None,
                     project_dir: Path | None, models_dir: Path | None = None,
                     with_recommendations: bool = True,
                     observed_pc: Mapping[str, ObservedPcUtilisation] | None = None) -> PlanPrediction:
    """Everything `predict_plan` returns, plus the parsed services (the guardrails reuse them). `observed_pc`:
    service name -> the observed provisioned-concurrency utilisation its Lambda cost uses (observed.py)."""
    project_dir = Path(project_dir) if project_dir is not None else None
    cfg = prediction_settings(settings)
    models, band = _cached(models_dir)  # ModelError propagates: a missing/corrupt model blocks the gate
    services = group_services(to_views(resources))
    if not services:  # nothing to price (e.g. a stack with no declarations): no predictions, not an error
        return PlanPrediction(services, {}, settings=cfg)
    previous_services = group_services(to_views(previous)) if previous is not None else None
    workloads = estimate_workloads(services, models, cfg.annotation_domain, project_dir, cfg.declared_uncertainty)
    prices = kubernetes_prices(cfg)
    capacity = _capacity(services, workloads, models["capacity-risk"], cfg)
    change = _change_risk(services, previous_services, models["change-risk"], cfg)
    plan = PlanPrediction(services, workloads, settings=cfg)
    problems: list[str] = []
    memo: PriceMemo = {}  # this plan's prices by (configuration, workload point); see costing.priced_points
    for svc in services:
        wl = workloads[svc.name]
        if svc.kind == "lambda" and svc.provisioned_concurrency > 0:
            svc.observed_pc = (observed_pc or {}).get(svc.name)
        try:
            cost, current_p50, line_items = _cost_quantiles(svc, wl, cfg, prices, band, memo)
            recommendation = (recommend(svc, wl, cfg, prices, project_dir, current_p50,
                                        capacity[svc.name]["probability"], memo) if with_recommendations
                              else {"changes": {}, "saving_usd_month": 0.0, "edits": None, "patch": None})
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
            "line_items": line_items,
            # The same figures in the stack's currency (guardrails:currency; USD: identical): what budgets and
            # reports use. Each is the rounded USD figure x the stated rate, to the cent (pricing/currency.py).
            "cost": converted_cost(cost, line_items, cfg.exchange),
            "capacity_risk": capacity[svc.name],
            "change_risk": change[svc.name],
            "contributions": wl.contributions,
            "workload": wl.as_dict(),
            "recommendation": recommendation,
        }
        if svc.kind == "lambda" and svc.provisioned_concurrency > 0:
            pc = svc.observed_pc
            plan.results[svc.name]["provisioned_concurrency"] = {
                "units": svc.provisioned_concurrency, "utilisation": None if pc is None else float(pc.share()),
                "source": DEFAULT_PC_SOURCE if pc is None else pc.sentence()}
    if problems:
        raise PredictionError(problems, plan.results)
    return plan


def predict_plan(resources: Sequence[Any], settings: Any, previous: Sequence[Any] | None, project_dir: Path,
                 models_dir: Path | None = None,
                 observed_pc: Mapping[str, ObservedPcUtilisation] | None = None) -> dict[str, dict[str, Any]]:
    """Per service: kind, cost_usd_month {p10,p50,p90}, capacity_risk, change_risk (synthetic_training flag),
    contributions, workload (source declared|history|model) and recommendation (saving_usd_month, patch).

    Raises `ModelError` (missing/corrupt model), `PredictionInputError` (bad declaration/settings) or
    `PredictionError` (some services could not be priced; `.partial` has the others). All must block the gate.
    """
    return predict_services(resources, settings, previous, project_dir, models_dir, observed_pc=observed_pc).results


__all__ = ["ModelError", "PredictionError", "PredictionInputError", "predict_plan", "predict_services"]
