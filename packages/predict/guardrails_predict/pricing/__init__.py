"""Deterministic price engine: AWS Lambda and Knative-on-Kubernetes monthly cost from published formulas.

All money is `decimal.Decimal` so results match hand arithmetic to the cent; price tables are versioned YAML
files under `data/` with their sources and date.
"""

from guardrails_predict.pricing.knative_cost import (
    KnativeCost,
    KnativeScaling,
    KnativeWorkload,
    knative_monthly_cost,
    knative_monthly_costs,
)
from guardrails_predict.pricing.lambda_cost import (
    LambdaConfig,
    LambdaCost,
    LambdaUsage,
    lambda_monthly_cost,
    lambda_monthly_costs,
)
from guardrails_predict.pricing.tables import (
    KubernetesPrices,
    LambdaPriceTable,
    PricingError,
    load_kubernetes_prices,
    load_lambda_prices,
)

__all__ = [
    "KnativeCost",
    "KnativeScaling",
    "KnativeWorkload",
    "KubernetesPrices",
    "LambdaConfig",
    "LambdaCost",
    "LambdaPriceTable",
    "LambdaUsage",
    "PricingError",
    "knative_monthly_cost",
    "knative_monthly_costs",
    "lambda_monthly_cost",
    "lambda_monthly_costs",
    "load_kubernetes_prices",
    "load_lambda_prices",
]
