"""Knative replica-hour costs by hand (OpenCost defaults, Knative autoscaler semantics), to the cent."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
from guardrails_predict.pricing import KnativeScaling, KnativeWorkload, knative_monthly_cost, load_kubernetes_prices
from guardrails_predict.pricing.tables import PricingError

CPU, RAM, HOURS = D("0.031611"), D("0.004237"), D(730)
NO_QP = load_kubernetes_prices().with_overrides({"queueProxyCpuVcpu": 0}, "test")  # hand cases omit the sidecar


def cents(value: D) -> D:
    return value.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def pod(cpu: str, gib: str) -> D:
    return D(cpu) * CPU + D(gib) * RAM


def monthly(rps, latency_ms, prices=NO_QP, hourly=None, **scaling) -> D:
    cpu = D(str(scaling.pop("cpu", "0.5")))
    mem = D(str(scaling.pop("mem", "0.5")))
    for key in ("target", "target_utilization", "scale_down_delay_seconds"):
        if key in scaling:
            scaling[key] = D(str(scaling[key]))
    workload = KnativeWorkload(D(str(rps)) * HOURS * 3600, D(str(latency_ms)),
                               hourly_rps=[D(str(r)) for r in hourly] if hourly else None)
    return knative_monthly_cost(workload, KnativeScaling(cpu, mem, **scaling), prices).total_usd


def test_research_worked_example_cc10() -> None:
    # L = 50 x 0.2 = 10; target = 10 x 0.7 = 7; ceil(10/7) = 2 replicas; $26.17 in the research note
    assert monthly(50, 200, container_concurrency=10, min_scale=1) == cents(2 * HOURS * pod("0.5", "0.5"))
    assert monthly(50, 200, container_concurrency=10, min_scale=1) == D("26.17")


def test_default_concurrency_target() -> None:
    # CC = 0 -> default target 100 x 0.7 = 70; ceil(10/70) = 1
    assert monthly(50, 200, min_scale=1) == cents(1 * HOURS * pod("0.5", "0.5"))


def test_rps_metric_default_target() -> None:
    # rps: 200 x 0.7 = 140 per pod; ceil(50/140) = 1
    assert monthly(50, 200, metric="rps", min_scale=1) == cents(HOURS * pod("0.5", "0.5"))


def test_rps_metric_explicit_target() -> None:
    # target 20 rps x 0.7 = 14; ceil(50/14) = 4
    assert monthly(50, 200, metric="rps", target=20, min_scale=1) == cents(4 * HOURS * pod("0.5", "0.5"))


def test_max_scale_caps_cost_and_flags_saturation() -> None:
    # L = 500 x 1 = 500; target 7 -> 72 desired; max-scale 10
    workload = KnativeWorkload(D(500) * HOURS * 3600, D(1000))
    result = knative_monthly_cost(workload, KnativeScaling(D("0.5"), D("0.5"), container_concurrency=10,
                                                           max_scale=10), NO_QP)
    assert result.total_usd == cents(10 * HOURS * pod("0.5", "0.5"))
    assert result.saturated and result.desired_replicas_peak == 72


def test_min_scale_dominates_light_traffic() -> None:
    assert monthly("0.01", 200, min_scale=3, cpu=1, mem=1) == cents(3 * HOURS * pod("1", "1"))


def test_scale_to_zero_with_stable_window() -> None:
    # min 0: up share = 1 - exp(-0.01 x (0.2 + 60 + 30 grace)) = 0.594243 of the month, 1 replica:
    # 730 x 0.594243 x 0.035848 = $15.55 (without the 30 s scale-to-zero grace period it was $11.84)
    up = D(str(1 - math.exp(-0.01 * 90.2)))
    assert monthly("0.01", 200, cpu=1, mem=1) == cents(HOURS * up * pod("1", "1")) == D("15.55")


def test_scale_to_zero_grace_period_on_ten_thousand_requests() -> None:
    # 10k requests/month: lambda = 10000 / (730 x 3600) = 0.00380518/s; keep-alive 0.2 + 60 + 30 = 90.2 s;
    # up share 1 - exp(-0.343227) = 0.290523; 730 x 0.290523 x (0.5 x 0.031611 + 0.5 x 0.004237) = $3.80
    workload = KnativeWorkload(D(10_000), D(200))
    assert knative_monthly_cost(workload, KnativeScaling(D("0.5"), D("0.5")), NO_QP).total_usd == D("3.80")
    no_grace = NO_QP.with_overrides({"scaleToZeroGracePeriodSeconds": 0}, "test")
    assert knative_monthly_cost(workload, KnativeScaling(D("0.5"), D("0.5")), no_grace).total_usd == D("2.68")


def test_on_off_profile_prices_the_busy_hours() -> None:
    # 36M requests/month = 13.6986 rps mean, W = 0.2 s, target 100 x 0.7 = 70, pod 1 vCPU + 2 GiB = $0.040085/h.
    # Flat: L = 2.74 -> 1 replica x 730 h = $29.26. Burstiness 100 as on/off: 7.3 h at 1369.86 rps
    # (L = 273.97 -> ceil(3.91) = 4 replicas) and 722.7 h idle.
    mean = D(36_000_000) / (HOURS * 3600)
    profile = [(mean * 100, HOURS / 100), (D(0), HOURS - HOURS / 100)]
    flat, bursty = KnativeWorkload(D(36_000_000), D(200)), KnativeWorkload(D(36_000_000), D(200), profile=profile)
    pod_1_2 = KnativeScaling(D(1), D(2), min_scale=1)
    assert knative_monthly_cost(flat, pod_1_2, NO_QP).total_usd == D("29.26")
    # min-scale 1: 4 x 7.3 + 1 x 722.7 = 751.9 replica-hours x 0.040085 = $30.14
    assert knative_monthly_cost(bursty, pod_1_2, NO_QP).total_usd == D("30.14")
    # max-scale 2 caps the burst (saturated): 2 x 7.3 + 722.7 = 737.3 rh = $29.55
    capped = knative_monthly_cost(bursty, KnativeScaling(D(1), D(2), min_scale=1, max_scale=2), NO_QP)
    assert capped.total_usd == D("29.55") and capped.saturated
    # min-scale 0: idle hours cost nothing, busy hours are always up: 4 x 7.3 = 29.2 rh = $1.17
    assert knative_monthly_cost(bursty, KnativeScaling(D(1), D(2)), NO_QP).total_usd == D("1.17")
    with pytest.raises(PricingError, match="profile hours must add up to the month"):
        knative_monthly_cost(KnativeWorkload(D(1), D(1), profile=[(D(1), D(1))]), pod_1_2, NO_QP)


def test_scale_down_delay_extends_keep_alive() -> None:
    up = D(str(1 - math.exp(-0.001 * (0.2 + 60 + 300 + 30))))
    assert monthly("0.001", 200, cpu=1, mem=1, scale_down_delay_seconds=300) == cents(HOURS * up * pod("1", "1"))


def test_queue_proxy_sidecar_from_table() -> None:
    # default table adds 25m CPU per pod for queue-proxy
    assert monthly(50, 200, prices=load_kubernetes_prices(), container_concurrency=10, min_scale=1) == cents(
        2 * HOURS * (D("0.525") * CPU + D("0.5") * RAM))


def test_target_utilisation_annotation() -> None:
    # target 10 x 0.5 = 5; L = 60 x 0.2 = 12 -> 3 replicas
    assert monthly(60, 200, target=10, target_utilization="0.5", min_scale=1) == cents(3 * HOURS * pod("0.5", "0.5"))


def test_target_capped_by_container_concurrency() -> None:
    # min(50, CC 20) x 0.7 = 14; L = 100 x 0.3 = 30 -> 3 replicas
    assert monthly(100, 300, target=50, container_concurrency=20, min_scale=1) == cents(
        3 * HOURS * pod("0.5", "0.5"))


def test_stack_price_overrides() -> None:
    prices = NO_QP.with_overrides({"cpuPerVcpuHour": "0.05", "ramPerGibHour": "0.01"}, "guardrails:budgets.pricing")
    expected = HOURS * (2 * D("0.05") + 4 * D("0.01"))
    assert monthly("0.5", 100, prices=prices, min_scale=1, cpu=2, mem=4) == cents(expected)


def test_hourly_profile_sums_buckets() -> None:
    # 365 h at 10 rps (L=5 -> 1 pod), 365 h at 100 rps (L=50 -> ceil(50/7)=8 pods)
    total = monthly(0, 500, hourly=[10] * 365 + [100] * 365, container_concurrency=10, min_scale=1)
    assert total == cents((365 * 1 + 365 * 8) * pod("0.5", "0.5"))


def test_idle_scale_to_zero_costs_nothing() -> None:
    assert monthly(0, 200) == D("0.00")


def test_bad_inputs_and_overrides_are_named() -> None:
    with pytest.raises(PricingError, match="max-scale must be >= min-scale"):
        monthly(1, 100, min_scale=5, max_scale=2)
    with pytest.raises(PricingError, match=r"guardrails:budgets\.pricing\.cpuPrice: unknown key"):
        NO_QP.with_overrides({"cpuPrice": 1}, "guardrails:budgets.pricing")
    with pytest.raises(PricingError, match="only concurrency and rps"):
        monthly(1, 100, metric="cpu")


def test_every_stack_pricing_key_is_an_override() -> None:
    # The keys `guardrails:budgets.pricing.knative` accepts (the core's schema) are the ones the table can override.
    from guardrails_core.settings import KnativePricing, StackSettings
    from guardrails_predict.config import prediction_settings
    from guardrails_predict.costing import kubernetes_prices

    keys = {field.alias for field in KnativePricing.model_fields.values()}
    assert keys == set(NO_QP.OVERRIDES)
    stack = StackSettings.model_validate({"environment": "dev", "budgets": {"pricing": {"knative": {
        "cpuPerVcpuHour": "0.05", "scaleToZeroGracePeriodSeconds": 45}}}})
    prices = kubernetes_prices(prediction_settings(stack))
    assert prices.cpu_per_vcpu_hour == D("0.05") and prices.scale_to_zero_grace_seconds == D("45")
