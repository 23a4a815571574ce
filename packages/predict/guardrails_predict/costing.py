"""Price one service at one workload point (requests, mean duration) with the deterministic engine."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from guardrails_predict.config import PredictionSettings
from guardrails_predict.pricing import (
    KnativeCost,
    KnativeScaling,
    KnativeWorkload,
    KubernetesPrices,
    LambdaConfig,
    LambdaCost,
    LambdaUsage,
    knative_monthly_costs,
    lambda_monthly_costs,
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


# Prices already computed in one plan, by (configuration, workload point): see `priced_points`.
PriceMemo = dict[tuple[Any, ...], LambdaCost | KnativeCost]


def service_cost(svc: Service, requests: float, duration_ms: float, settings: PredictionSettings,
                 prices: KubernetesPrices, burstiness: float = 1.0, *, memo: PriceMemo | None = None,
                 **overrides: object) -> Decimal:
    """Monthly USD; `overrides` change one knob (e.g. memory_mb=512, min_scale=0) for what-if savings."""
    return priced_service(svc, requests, duration_ms, settings, prices, burstiness, memo=memo, **overrides).total


def priced_service(svc: Service, requests: float, duration_ms: float, settings: PredictionSettings,
                   prices: KubernetesPrices, burstiness: float = 1.0, *, memo: PriceMemo | None = None,
                   **overrides: object) -> LambdaCost | KnativeCost:
    """The pricing engine's full answer for one workload: the total and the bill's lines (`components`; Lambda:
    requests, duration, provisioned concurrency, storage; Knative: cpu, memory), which add up to it.

    Knative is priced over the on/off profile of `burstiness` (Lambda bills per request, so time does not
    matter there)."""
    return priced_points(svc, [(requests, duration_ms, burstiness)], settings, prices, memo=memo, **overrides)[0]


def priced_points(svc: Service, points: Sequence[tuple[float, float, float]], settings: PredictionSettings,
                  prices: KubernetesPrices, *, memo: PriceMemo | None = None,
                  **overrides: object) -> list[LambdaCost] | list[KnativeCost]:
    """`priced_service` at several (requests, duration_ms, burstiness) points of one service (its P10/P50/P90
    workload): the service's configuration is built and priced once for all of them.

    `memo`: a dict that lives for one plan (one `settings` and `prices`). A point whose configuration and workload
    were priced already in that plan is not priced again: the engine is a pure function of them, and a stack that
    repeats a declaration shape repeats its predicted workload too (issue 17)."""
    keyed: list[tuple[tuple[Any, ...], Any]]
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
        cold = Decimal(str(settings.lambda_cold_start_fraction)) if on_demand else Decimal(0)
        init = Decimal(str(settings.lambda_init_duration_ms))
        usages = [LambdaUsage(Decimal(str(round(requests))), Decimal(str(round(duration_ms, 3))),
                              cold_start_fraction=cold, init_duration_ms=init)
                  for requests, duration_ms, _ in points]
        keyed = [((cfg, usage, settings.free_tier), usage) for usage in usages]
        return _priced_once(keyed, lambda todo: lambda_monthly_costs(todo, cfg, free_tier=settings.free_tier), memo)
    scaling = knative_scaling(svc)
    if overrides:
        scaling = replace(scaling, **overrides)  # type: ignore[arg-type]
    keyed = []
    for requests, duration_ms, burstiness in points:
        req, dur, burst = Decimal(str(round(requests))), Decimal(str(round(duration_ms, 3))), \
            Decimal(str(round(burstiness, 3)))
        keyed.append(((scaling, req, dur, burst), (req, dur, burst)))

    def price(todo: list[tuple[Decimal, Decimal, Decimal]]) -> list[KnativeCost]:
        # The workloads (and their on/off profiles) are built only for the points the memo does not hold.
        hours = prices.hours_per_month
        return knative_monthly_costs([KnativeWorkload(req, dur, profile=on_off_profile(req, burst, hours))
                                      for req, dur, burst in todo], scaling, prices)

    return _priced_once(keyed, price, memo)


def _priced_once(keyed: list[tuple[tuple[Any, ...], Any]], price: Callable[[list[Any]], list[Any]],
                 memo: PriceMemo | None) -> list[Any]:
    if memo is None:
        return price([point for _, point in keyed])
    todo = {key: point for key, point in keyed if key not in memo}
    if todo:
        memo.update(zip(todo, price(list(todo.values())), strict=True))
    return [memo[key] for key, _ in keyed]
