"""The prediction view of the stack settings: `guardrails:budgets`, `guardrails:risk`, the currency and the few
other keys the predictions use, flattened. Their schema (keys, defaults, allowed values) is the core's
(`guardrails_core.settings.BudgetSettings` / `RiskSettings`, documented in the README); a stack file
that breaks it is refused at load, naming the file, the line and the key.

Budgets are amounts per month in the stack's currency (`guardrails:currency`, default USD; the `...Usd` key names
predate it): prices are USD and the predicted costs are converted at the stated ECB rate before the comparison
(pricing/currency.py). Which codes and dates exist is the bundled ECB table's knowledge, so it is checked here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from guardrails_core.settings import StackConfigError, as_stack_settings

from guardrails_predict.pricing.currency import CurrencyError, ExchangeRate, exchange_rate
from guardrails_predict.resources import PredictionInputError


@dataclass(frozen=True)
class PredictionSettings:
    """Every field set by `prediction_settings` (the defaults are the core model's)."""

    environment: str
    annotation_domain: str
    aws_region: str
    max_scale_limit: int
    min_scale_prod: int
    quantile: str
    stack_monthly_usd: float | None
    service_monthly_usd: float | None
    cost_centers: dict[str, float]
    projects: dict[str, float]
    anomaly_factor: float
    free_tier: bool
    knative_pricing: dict[str, Any]
    change_risk_threshold: float | None
    capacity_risk_threshold: float | None
    declared_uncertainty: float
    enforce_synthetic_change_risk: bool
    lambda_cold_start_fraction: float
    lambda_init_duration_ms: float
    # guardrails:currency / currencyDate: reported costs and budgets in this currency (prices stay USD)
    exchange: ExchangeRate


def _exchange(code: str, date: dt.date | None) -> ExchangeRate:
    """The stated rate of `guardrails:currency` on `guardrails:currencyDate` (see pricing/currency.py)."""
    if date is not None and code == "USD":
        raise PredictionInputError("guardrails:currencyDate: only meaningful with a guardrails:currency other than "
                                   "USD (prices are USD; nothing is converted)")
    try:
        return exchange_rate(code, date)
    except CurrencyError as exc:
        raise PredictionInputError(str(exc)) from None


def prediction_settings(settings: Any) -> PredictionSettings:
    """The flat view of StackSettings (or its `model_dump()`, validated again: a dict is not trusted)."""
    try:
        stack = as_stack_settings(settings)
    except StackConfigError as exc:
        raise PredictionInputError(str(exc)) from None
    budgets, risk = stack.budgets, stack.risk
    init = budgets.lambda_init
    return PredictionSettings(
        environment=stack.environment,
        annotation_domain=stack.annotation_domain,
        aws_region=stack.aws_region or "us-east-1",
        max_scale_limit=stack.limits.max_scale,
        min_scale_prod=stack.limits.min_scale_prod,
        quantile=budgets.quantile,
        stack_monthly_usd=budgets.stack_monthly_usd,
        service_monthly_usd=budgets.service_monthly_usd,
        cost_centers=dict(budgets.cost_centers),
        projects=dict(budgets.projects),
        anomaly_factor=budgets.anomaly_factor,
        free_tier=budgets.free_tier,
        # camelCase keys, as `KubernetesPrices.with_overrides` names them in its errors
        knative_pricing=budgets.pricing.knative.model_dump(mode="json", by_alias=True, exclude_none=True),
        change_risk_threshold=risk.change_risk_threshold,
        capacity_risk_threshold=risk.capacity_risk_threshold,
        declared_uncertainty=budgets.declared_uncertainty,
        enforce_synthetic_change_risk=risk.enforce_synthetic_change_risk,
        lambda_cold_start_fraction=init.cold_start_fraction if init else 0.0,
        lambda_init_duration_ms=init.init_duration_ms if init else 0.0,
        exchange=_exchange(stack.currency, stack.currency_date),
    )
