"""Cost anomalies against usual behaviour (hour-of-week seasonality), priced by the real engine."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from guardrails_predict.anomaly import HourlyWorkload, cost_anomaly, service_price, shapley
from guardrails_predict.config import prediction_settings
from guardrails_predict.costing import kubernetes_prices
from guardrails_predict.resources import to_views
from guardrails_predict.services import group_services

from tests.predict.helpers import lambda_fn

START = datetime(2026, 11, 1, tzinfo=UTC)  # a Sunday
FLAT = 2_000_000 / 730  # requests per hour of the seed's embeddings-batch (2M a month)


def embeddings(tmp_path: Path, region: str = "eu-west-1", **kwargs):
    svc = group_services(to_views(lambda_fn(tmp_path, **kwargs)))[0]
    settings = prediction_settings({"environment": "prod", "aws_region": region})
    return service_price(svc, settings, kubernetes_prices(settings))


def work(days: int, requests, duration, **drivers) -> HourlyWorkload:
    n = days * 24
    return HourlyWorkload(START, [requests(h) for h in range(n)],
                          {"duration": [duration(h) for h in range(n)],
                           **{k: [f(h) for h in range(n)] for k, f in drivers.items()}})


def test_duration_five_fold_at_flat_traffic_is_an_anomaly_named_duration(tmp_path: Path) -> None:
    price = embeddings(tmp_path)
    # the case: 180 -> 900 ms at flat traffic on 1024 MB arm64 is $5.20 -> $24.40 a month
    assert price(2_000_000, {"duration": 180}) == pytest.approx(5.20, abs=0.005)
    assert price(2_000_000, {"duration": 900}) == pytest.approx(24.40, abs=0.005)
    result = cost_anomaly(work(15, lambda h: FLAT, lambda h: 900.0 if h >= 14 * 24 else 180.0), price)
    assert result.status == "anomaly" and result.driver == "duration"
    assert result.usual_usd_month == pytest.approx(5.20, abs=0.01)
    assert result.observed_usd_month == pytest.approx(24.40, abs=0.01)
    assert result.contributions_usd_month["duration"] == pytest.approx(19.20, abs=0.01)
    assert "driver: duration (180 ms usual -> 900 ms now" in result.message


def test_five_fold_traffic_is_not_a_cost_anomaly(tmp_path: Path) -> None:
    price = embeddings(tmp_path)
    result = cost_anomaly(work(15, lambda h: FLAT * (5 if h >= 14 * 24 else 1), lambda h: 180.0), price)
    assert result.status == "normal" and result.driver is None
    assert result.traffic_ratio == pytest.approx(5.0, rel=1e-3)
    assert result.unexplained_ratio == pytest.approx(1.0, abs=1e-3)
    assert result.observed_usd_month == pytest.approx(26.0, abs=0.01)  # 5x requests, 5x cost: explained
    assert "cost follows traffic" in result.message


def test_hour_of_week_seasonality_is_usual_not_anomalous(tmp_path: Path) -> None:
    price = embeddings(tmp_path)
    # weekdays busy (10x) during office hours, slower work at night; the recent day is a usual Monday
    def requests(h: int) -> float:
        t = h % (7 * 24)
        return FLAT * (10 if (t // 24) in range(1, 6) and 8 <= t % 24 < 18 else 1)

    def duration(h: int) -> float:
        return 400.0 if h % 24 < 6 else 180.0

    result = cost_anomaly(work(15, requests, duration), price)  # the 15th day is Monday 2026-11-15
    assert result.status == "normal", result.message
    assert result.traffic_ratio == pytest.approx(1.0, rel=1e-6)


def test_memory_and_provisioned_concurrency_are_named_when_they_move(tmp_path: Path) -> None:
    price = embeddings(tmp_path)
    recent = 14 * 24
    memory = cost_anomaly(work(15, lambda h: FLAT, lambda h: 180.0,
                               memory=lambda h: 4096.0 if h >= recent else 1024.0), price)
    assert memory.status == "anomaly" and memory.driver == "memory"
    # the price table has provisioned-concurrency rates for us-east-1, not eu-west-1 (refused there, never 0)
    price = embeddings(tmp_path, region="us-east-1")
    pc = cost_anomaly(work(15, lambda h: FLAT, lambda h: 180.0,
                           **{"provisioned concurrency": lambda h: 5.0 if h >= recent else 0.0}), price)
    assert pc.status == "anomaly" and pc.driver == "provisioned concurrency"


def test_too_little_history_says_so(tmp_path: Path) -> None:
    result = cost_anomaly(work(5, lambda h: FLAT, lambda h: 900.0), embeddings(tmp_path))
    assert result.status == "insufficient-history" and "one week" in result.message


def test_shapley_shares_add_up_to_the_move() -> None:
    def price(requests: float, d):
        return requests * d["duration"] * d["memory"] / 1e9

    shares = shapley(price, 1e6, {"duration": 100, "memory": 1000}, {"duration": 200, "memory": 2000})
    before, after = {"duration": 100, "memory": 1000}, {"duration": 200, "memory": 2000}
    assert sum(shares.values()) == pytest.approx(price(1e6, after) - price(1e6, before))
    assert shares["duration"] == pytest.approx(shares["memory"])


def test_knative_latency_move_is_named_and_priced_through_replicas(tmp_path: Path) -> None:
    from tests.predict.helpers import knative

    svc = group_services(to_views([knative(tmp_path, min_scale=1, max_scale=40)]))[0]
    settings = prediction_settings({"environment": "prod", "limits": {"max_scale": 40}})
    price = service_price(svc, settings, kubernetes_prices(settings))
    rps = 500 * 3600  # requests per hour: ~100 in flight at 200 ms, ~500 at 1 s (per-pod target 65)
    slow = cost_anomaly(work(15, lambda h: rps, lambda h: 1000.0 if h >= 14 * 24 else 200.0), price)
    assert slow.status == "anomaly" and slow.driver == "duration", slow.message
    assert slow.observed_usd_month > 3 * slow.usual_usd_month
    busy = cost_anomaly(work(15, lambda h: rps * (5 if h >= 14 * 24 else 1), lambda h: 200.0), price)
    assert busy.status == "normal", busy.message
