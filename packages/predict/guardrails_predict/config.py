"""The prediction sections of the stack settings: `guardrails:budgets`, `guardrails:risk` and the currency.

Budgets are amounts per month in the stack's currency (`guardrails:currency`, default USD; the `...Usd` key names
predate it): prices are USD and the predicted costs are converted at the stated ECB rate before the comparison
(pricing/currency.py).

    guardrails:budgets:
      quantile: p90                 # which predicted quantile is compared to budgets (p10|p50|p90)
      stackMonthlyUsd: 20000        # whole stack (= this environment)
      serviceMonthlyUsd: 3000       # any single service
      costCenters: {AI-Product-X: 8000}   # sum of services with that cost-center
      projects: {project-nova: 6000}      # sum of services with that project-id
      anomalyFactor: 2.0            # flag a change that multiplies cost/requests/limits by more than this
      freeTier: false               # subtract the Lambda free tier (per account; off by default)
      declaredUncertainty: 0.2      # a declared requests/latency value v becomes P10 v(1-u), P50 v, P90 v(1+u)
      lambdaInit: {coldStartFraction: 0.01, initDurationMs: 400}  # INIT billed on on-demand invocations since
                                    # 2025-08-01; both keys required; absent = INIT not priced
      pricing:
        knative: {cpuPerVcpuHour: 0.031611, ramPerGibHour: 0.004237, queueProxyCpuVcpu: 0.025}
    guardrails:risk:
      changeRiskThreshold: 0.5      # block when P(change fails or is rolled back) exceeds this
      capacityRiskThreshold: 0.5    # block when P(predicted burst exceeds declared capacity) exceeds this
      enforceSyntheticChangeRisk: false  # a change-risk model trained only on SYNTHETIC data is advisory
                                    # (reported, never blocking) unless the stack opts in here
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from guardrails_predict.pricing.currency import USD, CurrencyError, ExchangeRate, exchange_rate
from guardrails_predict.resources import PredictionInputError

QUANTILE_KEYS = ("p10", "p50", "p90")
_BUDGET_KEYS = {"quantile", "stackMonthlyUsd", "serviceMonthlyUsd", "costCenters", "projects", "anomalyFactor",
                "freeTier", "pricing", "declaredUncertainty", "lambdaInit"}
_RISK_KEYS = {"changeRiskThreshold", "capacityRiskThreshold", "enforceSyntheticChangeRisk"}
DEFAULT_DECLARED_UNCERTAINTY = 0.2  # a declaration is a plan, not a measurement; ±20 % unless the stack says


@dataclass(frozen=True)
class PredictionSettings:
    environment: str = "dev"
    annotation_domain: str = "apexlogic.com"
    aws_region: str = "us-east-1"
    max_scale_limit: int = 20
    quantile: str = "p90"
    stack_monthly_usd: float | None = None
    service_monthly_usd: float | None = None
    cost_centers: dict[str, float] = field(default_factory=dict)
    projects: dict[str, float] = field(default_factory=dict)
    anomaly_factor: float = 2.0
    free_tier: bool = False
    knative_pricing: dict[str, Any] = field(default_factory=dict)
    change_risk_threshold: float | None = None
    capacity_risk_threshold: float | None = None
    min_scale_prod: int = 1
    declared_uncertainty: float = DEFAULT_DECLARED_UNCERTAINTY
    enforce_synthetic_change_risk: bool = False
    lambda_cold_start_fraction: float = 0.0
    lambda_init_duration_ms: float = 0.0
    # guardrails:currency / currencyDate: reported costs and budgets in this currency (prices stay USD)
    exchange: ExchangeRate = USD


def settings_dict(settings: Any) -> dict[str, Any]:
    """StackSettings (pydantic) or an already-dumped dict (what policies receive)."""
    if hasattr(settings, "model_dump"):
        return settings.model_dump(mode="json", by_alias=False)
    if isinstance(settings, dict):
        return settings
    raise PredictionInputError(f"settings: expected StackSettings or a dict, got {type(settings).__name__}")


def _money(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PredictionInputError(f"{where}: must be a number of USD per month >= 0, got {value!r}")
    return float(value)


def _probability(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise PredictionInputError(f"{where}: must be a probability between 0 and 1, got {value!r}")
    return float(value)


def _money_map(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise PredictionInputError(f"{where}: must be a map of name -> USD per month")
    return {str(k): _money(v, f"{where}.{k}") for k, v in value.items()}


def _exchange(code: Any, date: Any) -> ExchangeRate:
    """The stated rate of `guardrails:currency` on `guardrails:currencyDate` (see pricing/currency.py)."""
    if isinstance(date, str):
        try:
            date = dt.date.fromisoformat(date)
        except ValueError:
            raise PredictionInputError(f"guardrails:currencyDate: {date!r} is not a date (YYYY-MM-DD)") from None
    if date is not None and not isinstance(date, dt.date):
        raise PredictionInputError(f"guardrails:currencyDate: {date!r} is not a date (YYYY-MM-DD)")
    if date is not None and code == "USD":
        raise PredictionInputError("guardrails:currencyDate: only meaningful with a guardrails:currency other than "
                                   "USD (prices are USD; nothing is converted)")
    try:
        return exchange_rate(str(code), date)
    except CurrencyError as exc:
        raise PredictionInputError(str(exc)) from None


def prediction_settings(settings: Any) -> PredictionSettings:
    raw = settings_dict(settings)
    budgets = raw.get("budgets") or {}
    risk = raw.get("risk") or {}
    for section, allowed, values in (("budgets", _BUDGET_KEYS, budgets), ("risk", _RISK_KEYS, risk)):
        if not isinstance(values, dict):
            raise PredictionInputError(f"guardrails:{section}: must be a map")
        unknown = set(values) - allowed
        if unknown:
            raise PredictionInputError(
                f"guardrails:{section}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    quantile = budgets.get("quantile", "p90")
    if quantile not in QUANTILE_KEYS:
        raise PredictionInputError(f"guardrails:budgets.quantile: {quantile!r} is not one of {list(QUANTILE_KEYS)}")
    factor = budgets.get("anomalyFactor", 2.0)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 1:
        raise PredictionInputError(f"guardrails:budgets.anomalyFactor: must be a number > 1, got {factor!r}")
    free_tier = budgets.get("freeTier", False)
    if not isinstance(free_tier, bool):
        raise PredictionInputError(f"guardrails:budgets.freeTier: must be true or false, got {free_tier!r}")
    uncertainty = budgets.get("declaredUncertainty", DEFAULT_DECLARED_UNCERTAINTY)
    if isinstance(uncertainty, bool) or not isinstance(uncertainty, int | float) or not 0 <= uncertainty < 1:
        raise PredictionInputError("guardrails:budgets.declaredUncertainty: must be a relative uncertainty "
                                   f">= 0 and < 1 (0.2 = ±20 %), got {uncertainty!r}")
    enforce = risk.get("enforceSyntheticChangeRisk", False)
    if not isinstance(enforce, bool):
        raise PredictionInputError("guardrails:risk.enforceSyntheticChangeRisk: must be true or false, "
                                   f"got {enforce!r}")
    init = budgets.get("lambdaInit")
    cold_fraction, init_ms = 0.0, 0.0
    if init is not None:
        where = "guardrails:budgets.lambdaInit"
        if not isinstance(init, dict) or set(init) != {"coldStartFraction", "initDurationMs"}:
            raise PredictionInputError(f"{where}: must be a map with exactly coldStartFraction and initDurationMs")
        cold_fraction, init_ms = init["coldStartFraction"], init["initDurationMs"]
        if isinstance(cold_fraction, bool) or not isinstance(cold_fraction, int | float) or not 0 <= cold_fraction <= 1:
            raise PredictionInputError(f"{where}.coldStartFraction: must be a share within 0..1, got {cold_fraction!r}")
        if isinstance(init_ms, bool) or not isinstance(init_ms, int | float) or not 0 <= init_ms <= 10_000:
            raise PredictionInputError(f"{where}.initDurationMs: must be within 0..10000 ms (the INIT limit), "
                                       f"got {init_ms!r}")
    pricing = budgets.get("pricing") or {}
    if not isinstance(pricing, dict) or set(pricing) - {"knative"}:
        raise PredictionInputError("guardrails:budgets.pricing: only the key 'knative' is allowed")
    limits = raw.get("limits") or {}
    return PredictionSettings(
        exchange=_exchange(raw.get("currency") or "USD", raw.get("currency_date")),
        environment=str(raw.get("environment", "dev")),
        annotation_domain=str(raw.get("annotation_domain", "apexlogic.com")),
        aws_region=str(raw.get("aws_region") or "us-east-1"),
        max_scale_limit=int(limits.get("max_scale", 20)),
        min_scale_prod=int(limits.get("min_scale_prod", 1)),
        quantile=quantile,
        stack_monthly_usd=None if budgets.get("stackMonthlyUsd") is None
        else _money(budgets["stackMonthlyUsd"], "guardrails:budgets.stackMonthlyUsd"),
        service_monthly_usd=None if budgets.get("serviceMonthlyUsd") is None
        else _money(budgets["serviceMonthlyUsd"], "guardrails:budgets.serviceMonthlyUsd"),
        cost_centers=_money_map(budgets.get("costCenters", {}), "guardrails:budgets.costCenters"),
        projects=_money_map(budgets.get("projects", {}), "guardrails:budgets.projects"),
        anomaly_factor=float(factor),
        free_tier=free_tier,
        knative_pricing=dict(pricing.get("knative") or {}),
        change_risk_threshold=None if risk.get("changeRiskThreshold") is None
        else _probability(risk["changeRiskThreshold"], "guardrails:risk.changeRiskThreshold"),
        capacity_risk_threshold=None if risk.get("capacityRiskThreshold") is None
        else _probability(risk["capacityRiskThreshold"], "guardrails:risk.capacityRiskThreshold"),
        declared_uncertainty=float(uncertainty),
        enforce_synthetic_change_risk=enforce,
        lambda_cold_start_fraction=float(cold_fraction),
        lambda_init_duration_ms=float(init_ms),
    )
