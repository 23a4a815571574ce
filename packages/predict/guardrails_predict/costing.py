"""Price one service at one workload point (requests, mean duration) with the deterministic engine."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from guardrails_predict.config import PredictionSettings
from guardrails_predict.pricing import (
    KnativeScaling,
    KnativeWorkload,
    KubernetesPrices,
    LambdaConfig,
    LambdaUsage,
    knative_monthly_cost,
    lambda_monthly_cost,
    load_kubernetes_prices,
)
from guardrails_predict.services import Service


def kubernetes_prices(settings: PredictionSettings) -> KubernetesPrices:
    return load_kubernetes_prices().with_overrides(settings.knative_pricing, "guardrails:budgets.pricing.knative")


def knative_scaling(svc: Service) -> KnativeScaling:
    return KnativeScaling(
        cpu_request_vcpu=svc.cpu_request_vcpu, memory_request_gib=svc.memory_request_gib,
        min_scale=svc.min_scale, max_scale=svc.max_scale, metric=svc.metric if svc.metric in ("rps",)
        else "concurrency", target=svc.target, container_concurrency=svc.container_concurrency,
        target_utilization=svc.target_utilization, stable_window_seconds=svc.window_s,
        scale_down_delay_seconds=svc.scale_down_delay_s,
    )


def service_cost(svc: Service, requests: float, duration_ms: float, settings: PredictionSettings,
                 prices: KubernetesPrices, **overrides: object) -> Decimal:
    """Monthly USD; `overrides` change one knob (e.g. memory_mb=512, min_scale=0) for what-if savings."""
    req = Decimal(str(round(requests)))
    dur = Decimal(str(round(duration_ms, 3)))
    if svc.kind == "lambda":
        cfg = LambdaConfig(memory_mb=int(svc.memory_mb), architecture=svc.architecture, region=settings.aws_region,
                           ephemeral_storage_mb=svc.ephemeral_mb, provisioned_concurrency=svc.provisioned_concurrency)
        if overrides:
            cfg = replace(cfg, **overrides)  # type: ignore[arg-type]
        return lambda_monthly_cost(LambdaUsage(req, dur), cfg, free_tier=settings.free_tier).total
    scaling = knative_scaling(svc)
    if overrides:
        scaling = replace(scaling, **overrides)  # type: ignore[arg-type]
    return knative_monthly_cost(KnativeWorkload(req, dur), scaling, prices).total
