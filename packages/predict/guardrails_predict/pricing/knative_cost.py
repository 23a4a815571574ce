"""Knative Service monthly cost as OpenCost would allocate it (cost-anchors.md §3.3), from published semantics.

    L (in-flight)   = lambda (rps) x W (s)                                   Little's law
    per-pod target  = concurrency: (T, or min(T, CC) if CC > 0, else CC, else 100) x utilisation, >= 0.01
                      rps:         (T or 200) x utilisation
    desired         = ceil(L / target)   (rps metric: ceil(lambda / target))
    replicas        = clamp(desired, min-scale, max-scale if > 0); desired > max-scale => saturated (SLO risk,
                      cost is capped - the requests queue)
    scale to zero   = with min-scale 0 a pod lives while a request arrived in the last (W + stable window +
                      scale-down delay + scale-to-zero grace period) seconds; for Poisson arrivals that is a
                      time share of 1 - exp(-lambda x (W + window + delay + grace))
    pod $/h         = (cpu request + queue-proxy cpu) x $/vCPU-h + (memory request + queue-proxy memory) GiB x $/GiB-h
                      (OpenCost charges max(request, usage); right-sized pods are charged their requests)
    monthly $       = sum over time buckets of replicas x bucket hours x pod $/h: `hourly_rps` (1 h each), or
                      `profile` [(rps, hours)], or one bucket of 730 h at the mean rate when neither is given
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from guardrails_predict.pricing.tables import KubernetesPrices, PricingError, load_kubernetes_prices

CENT = Decimal("0.01")


@dataclass(frozen=True)
class KnativeScaling:
    cpu_request_vcpu: Decimal
    memory_request_gib: Decimal
    min_scale: int = 0
    max_scale: int = 0  # 0 = unlimited
    metric: str = "concurrency"  # concurrency | rps
    target: Decimal | None = None  # autoscaling.knative.dev/target
    container_concurrency: int = 0  # 0 = unlimited
    target_utilization: Decimal | None = None  # fraction; None = table default (0.7)
    stable_window_seconds: Decimal | None = None
    scale_down_delay_seconds: Decimal | None = None


@dataclass(frozen=True)
class KnativeWorkload:
    requests_per_month: Decimal
    mean_latency_ms: Decimal
    hourly_rps: Sequence[Decimal] | None = None  # optional profile; each bucket is one hour
    profile: Sequence[tuple[Decimal, Decimal]] | None = None  # optional (rps, hours) buckets summing to the month


@dataclass(frozen=True)
class KnativeCost:
    total: Decimal
    replica_hours: Decimal
    pod_hourly_usd: Decimal
    per_pod_target: Decimal
    desired_replicas_peak: int
    saturated: bool
    components: dict[str, Decimal] = field(default_factory=dict)
    price_table_version: str = ""

    @property
    def total_usd(self) -> Decimal:
        return self.total.quantize(CENT, rounding=ROUND_HALF_UP)


def per_pod_target(scaling: KnativeScaling, prices: KubernetesPrices) -> Decimal:
    """knative/serving ResolveMetricTarget: the per-pod value the autoscaler aims for."""
    utilisation = scaling.target_utilization if scaling.target_utilization is not None else prices.target_utilization
    cc = scaling.container_concurrency
    if scaling.metric == "rps":
        total = scaling.target if scaling.target is not None else Decimal(prices.requests_per_second_target_default)
        return total * utilisation
    if scaling.metric != "concurrency":
        raise PricingError(f"autoscaling.knative.dev/metric {scaling.metric!r}: only concurrency and rps are priced")
    if scaling.target is not None:
        total = min(scaling.target, Decimal(cc)) if cc > 0 else scaling.target
    elif cc > 0:
        total = Decimal(cc)
    else:
        total = Decimal(prices.container_concurrency_target_default)
    return max(Decimal("0.01"), total * utilisation)


def _check(checks: list[tuple[bool, str]]) -> None:
    for ok, message in checks:
        if not ok:
            raise PricingError(f"Knative cost input: {message}")


def _validate_workload(workload: KnativeWorkload) -> None:
    _check([
        (workload.requests_per_month >= 0, "requests_per_month must be >= 0"),
        (workload.mean_latency_ms >= 0, "mean_latency_ms must be >= 0"),
    ])


def _validate_scaling(scaling: KnativeScaling) -> None:
    _check([
        (scaling.cpu_request_vcpu >= 0 and scaling.memory_request_gib >= 0, "resource requests must be >= 0"),
        (scaling.min_scale >= 0, "min-scale must be >= 0"),
        (scaling.max_scale >= 0, "max-scale must be >= 0 (0 = unlimited)"),
        (scaling.max_scale == 0 or scaling.max_scale >= scaling.min_scale, "max-scale must be >= min-scale"),
        (scaling.container_concurrency >= 0, "containerConcurrency must be >= 0"),
    ])


def _buckets(workload: KnativeWorkload, hours: Decimal) -> list[tuple[Decimal, Decimal]]:
    """(rps, hours) buckets of the month: `hourly_rps`, `profile`, or one bucket at the mean rate."""
    if workload.hourly_rps is not None:
        rates = [Decimal(r) for r in workload.hourly_rps]
        if any(r < 0 for r in rates) or not rates:
            raise PricingError("Knative cost input: hourly_rps must be a non-empty list of rates >= 0")
        return [(r, Decimal(1)) for r in rates]
    if workload.profile is not None:
        buckets = [(Decimal(r), Decimal(h)) for r, h in workload.profile]
        if not buckets or any(r < 0 or h < 0 for r, h in buckets):
            raise PricingError("Knative cost input: profile must be a non-empty list of (rps >= 0, hours >= 0)")
        if abs(sum(h for _, h in buckets) - hours) > Decimal("0.000001"):
            raise PricingError(f"Knative cost input: profile hours must add up to the month ({hours} h)")
        return buckets
    return [(workload.requests_per_month / (hours * 3600), hours)]


def knative_monthly_cost(workload: KnativeWorkload, scaling: KnativeScaling,
                         prices: KubernetesPrices | None = None) -> KnativeCost:
    return knative_monthly_costs([workload], scaling, prices)[0]


def knative_monthly_costs(workloads: Sequence[KnativeWorkload], scaling: KnativeScaling,
                          prices: KubernetesPrices | None = None) -> list[KnativeCost]:
    """`knative_monthly_cost` of several workloads of one service's scaling (e.g. its P10/P50/P90 workload):
    the scaling is validated and its per-pod target and pod price computed once (issue 17)."""
    prices = prices or load_kubernetes_prices()
    for workload in workloads:
        _validate_workload(workload)
    _validate_scaling(scaling)
    hours = prices.hours_per_month
    all_buckets = [_buckets(workload, hours) for workload in workloads]

    target = per_pod_target(scaling, prices)
    window = (scaling.stable_window_seconds if scaling.stable_window_seconds is not None
              else prices.stable_window_seconds)
    delay = (scaling.scale_down_delay_seconds if scaling.scale_down_delay_seconds is not None
             else prices.scale_down_delay_seconds)
    grace = prices.scale_to_zero_grace_seconds
    cpu = scaling.cpu_request_vcpu + prices.queue_proxy_cpu_vcpu
    ram = scaling.memory_request_gib + prices.queue_proxy_memory_gib
    pod_hourly = cpu * prices.cpu_per_vcpu_hour + ram * prices.ram_per_gib_hour

    out = []
    for workload, buckets in zip(workloads, all_buckets, strict=True):
        latency_s = workload.mean_latency_ms / Decimal(1000)
        replica_hours = Decimal(0)
        peak_desired = 0
        saturated = False
        for rate, bucket_hours in buckets:
            load = rate if scaling.metric == "rps" else rate * latency_s
            desired = int((load / target).to_integral_value(rounding=ROUND_CEILING))
            peak_desired = max(peak_desired, desired)
            if scaling.max_scale and desired > scaling.max_scale:
                saturated = True
            replicas = max(desired, scaling.min_scale)
            if scaling.max_scale:
                replicas = min(replicas, scaling.max_scale)
            if scaling.min_scale == 0 and rate > 0:
                # Share of time at least one pod is up (Poisson arrivals, keep-alive W + window + delay + grace).
                keep_alive = latency_s + window + delay + grace
                up_share = Decimal(1) - Decimal(str(math.exp(-float(rate * keep_alive))))
                replicas_time = max(replicas, 1) * up_share
            else:
                replicas_time = Decimal(replicas)
            replica_hours += replicas_time * bucket_hours

        components = {
            "cpu": replica_hours * cpu * prices.cpu_per_vcpu_hour,
            "memory": replica_hours * ram * prices.ram_per_gib_hour,
        }
        out.append(KnativeCost(
            total=components["cpu"] + components["memory"],
            replica_hours=replica_hours,
            pod_hourly_usd=pod_hourly,
            per_pod_target=target,
            desired_replicas_peak=peak_desired,
            saturated=saturated,
            components=components,
            price_table_version=prices.version,
        ))
    return out
