"""Price one service at one workload point (requests, mean duration) with the deterministic engine."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from guardrails_predict.config import PredictionSettings
from guardrails_predict.pricing import (
    KnativeCost,
    KnativeScaling,
    KnativeWorkload,
    KubernetesPrices,
    LambdaConfig,
    LambdaCost,
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


def on_off_profile(requests: Decimal, burstiness: Decimal, hours: Decimal) -> list[tuple[Decimal, Decimal]] | None:
    """The month as busy hours at the peak-minute rate and idle hours at zero, keeping the monthly total.

    Burstiness B = busiest minute / mean minute, so the peak rate is B x mean and it can last 1/B of the time.
    This is the most concentrated profile with that peak and total: it prices the replicas a burst needs
    (up to max-scale) and the idle time a scale-to-zero service does not pay for. Busy/idle transitions are
    not priced (each would add one keep-alive of the last pod); B <= 1 means a flat month."""
    if burstiness <= 1:
        return None
    mean_rps = requests / (hours * 3600)
    busy = hours / burstiness
    return [(mean_rps * burstiness, busy), (Decimal(0), hours - busy)]


def service_cost(svc: Service, requests: float, duration_ms: float, settings: PredictionSettings,
                 prices: KubernetesPrices, burstiness: float = 1.0, **overrides: object) -> Decimal:
    """Monthly USD; `overrides` change one knob (e.g. memory_mb=512, min_scale=0) for what-if savings."""
    return priced_service(svc, requests, duration_ms, settings, prices, burstiness, **overrides).total


def priced_service(svc: Service, requests: float, duration_ms: float, settings: PredictionSettings,
                   prices: KubernetesPrices, burstiness: float = 1.0, **overrides: object) -> LambdaCost | KnativeCost:
    """The pricing engine's full answer for one workload: the total and the bill's lines (`components`; Lambda:
    requests, duration, provisioned concurrency, storage; Knative: cpu, memory), which add up to it.

    Knative is priced over the on/off profile of `burstiness` (Lambda bills per request, so time does not
    matter there)."""
    req = Decimal(str(round(requests)))
    dur = Decimal(str(round(duration_ms, 3)))
    if svc.kind == "lambda":
        cfg = LambdaConfig(memory_mb=int(svc.memory_mb), architecture=svc.architecture, region=settings.aws_region,
                           ephemeral_storage_mb=svc.ephemeral_mb, provisioned_concurrency=svc.provisioned_concurrency)
        if overrides:
            cfg = replace(cfg, **overrides)  # type: ignore[arg-type]
        if svc.observed_pc is not None and cfg.provisioned_concurrency > 0:
            # The observed busy share of the declared units; a what-if with other units keeps the busy instances
            # (u x declared / new, at most 1).
            busy = svc.observed_pc.share() * svc.provisioned_concurrency
            cfg = replace(cfg, provisioned_utilisation=min(Decimal(1), busy / cfg.provisioned_concurrency))
        # INIT (cold starts) is billed on on-demand invocations since 2025-08-01; provisioned instances are
        # initialised ahead of traffic, so it is priced only without provisioned concurrency.
        on_demand = cfg.provisioned_concurrency == 0
        usage = LambdaUsage(req, dur,
                            cold_start_fraction=Decimal(str(settings.lambda_cold_start_fraction)) if on_demand
                            else Decimal(0),
                            init_duration_ms=Decimal(str(settings.lambda_init_duration_ms)))
        return lambda_monthly_cost(usage, cfg, free_tier=settings.free_tier)
    scaling = knative_scaling(svc)
    if overrides:
        scaling = replace(scaling, **overrides)  # type: ignore[arg-type]
    profile = on_off_profile(req, Decimal(str(round(burstiness, 3))), prices.hours_per_month)
    return knative_monthly_cost(KnativeWorkload(req, dur, profile=profile), scaling, prices)
