"""The CloudWatch reader against a real CloudWatch API (moto server on loopback)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from preflight.observe.cloudwatch import CloudWatchError, CloudWatchReader, cloudwatch_client
from preflight.observe.model import Window
from tests.observe.helpers import END, put_lambda

WINDOW = Window(END - timedelta(days=14), END, 3600)


def reader(region: str = "eu-west-1", **kwargs) -> CloudWatchReader:
    return CloudWatchReader(cloudwatch_client(region, **kwargs), region)


def test_reads_lambda_metrics_hour_by_hour_with_their_queries(cloudwatch) -> None:
    # quiet nights: no invocations 00:00-05:59 (no datapoints), 100/hour otherwise, 200 ms, 3 errors an hour
    put_lambda("emb", days=14, invocations=lambda h: 0 if h % 24 < 6 else 100, duration_ms=lambda h: 200.0,
               concurrency=lambda h: 2.0, errors=lambda h: 3.0, memory_used_mb=lambda h: 300.0 + h % 5)
    seen = reader().observe("emb", "services/emb.yaml", WINDOW)
    assert seen.requests_per_hour.value == pytest.approx(100 * 18 / 24)  # hours without a datapoint are 0
    assert seen.hourly["requests"].values[:7] == (0.0,) * 6 + (100.0,)
    assert seen.error_rate.value == pytest.approx(0.03)
    assert seen.duration_mean_ms.value == pytest.approx(200.0)
    assert seen.hourly["duration_ms"].values[0] is None  # no invocation, no duration: missing, not 0
    assert seen.peak_concurrency.value == 2.0
    assert max(v for v in seen.hourly["memory_used_max_mb"].values if v) == 304.0
    query = json.loads(seen.requests_per_hour.query)
    assert query["MetricName"] == "Invocations" and query["Stat"] == "Sum" and query["Period"] == 3600
    assert query["Dimensions"] == {"FunctionName": "emb"}
    assert seen.requests_per_hour.window == WINDOW
    assert seen.targets["live"].requests.value == 100 * 18 * 14
    # moto does not compute extended statistics (HTTP 500): p50/p99 are missing, with the reason, never 0
    assert seen.latency_p99_ms.missing and "extended statistics" in seen.latency_p99_ms.missing_reason
    assert max(v for v in seen.hourly["duration_max_ms"].values if v) == 400.0  # the bound used instead


def test_provisioned_concurrency_utilisation_peak_and_mean(cloudwatch) -> None:
    # 2 of 10 provisioned instances busy at night (hours 0-5 of each day), 8 by day (6-23); no datapoint in the
    # very first hour. Mean over the 335 hours with data: (13 x 6 x 0.2 + 5 x 0.2 + 14 x 18 x 0.8) / 335
    # = (15.6 + 1.0 + 201.6) / 335 = 218.2 / 335 = 0.651343...; peak 0.8.
    put_lambda("pc", days=14, invocations=lambda h: 100, duration_ms=lambda h: 200.0,
               pc_utilisation=lambda h: None if h == 0 else 0.2 if h % 24 < 6 else 0.8)
    seen = reader().observe("pc", "services/pc.yaml", WINDOW)
    assert seen.provisioned_concurrency_utilisation.value == pytest.approx(0.8)
    mean = seen.provisioned_concurrency_utilisation_mean
    assert mean.value == pytest.approx(218.2 / 335) and mean.unit == "ratio"
    query = json.loads(mean.query)
    assert (query["MetricName"], query["Stat"]) == ("ProvisionedConcurrencyUtilization", "Average")
    assert query["Dimensions"] == {"FunctionName": "pc", "Resource": "pc:live"}
    # a function without provisioned concurrency: missing with the reason, never 0 %
    put_lambda("plain", days=14, invocations=lambda h: 100, duration_ms=lambda h: 200.0)
    plain = reader().observe("plain", "services/plain.yaml", WINDOW).provisioned_concurrency_utilisation_mean
    assert plain.missing and "no ProvisionedConcurrencyUtilization datapoints" in plain.missing_reason


def test_a_function_cloudwatch_does_not_know_is_missing_not_idle(cloudwatch) -> None:
    seen = reader().observe("ghost", "services/ghost.yaml", WINDOW)
    assert seen.requests_per_hour.missing and "no AWS/Lambda metrics" in seen.requests_per_hour.missing_reason
    assert set(seen.hourly["requests"].values) == {None}


def test_metrics_are_read_in_the_given_region_only(cloudwatch) -> None:
    put_lambda("emb", days=14, invocations=lambda h: 10, duration_ms=lambda h: 100.0, region="us-east-1")
    assert reader("eu-west-1").observe("emb", "f", WINDOW).requests_per_hour.missing
    assert reader("us-east-1").observe("emb", "f", WINDOW).requests_per_hour.value == 10


def test_unreachable_endpoint_is_a_clear_error_within_bounds(monkeypatch) -> None:
    from tests.observe.conftest import FAKE_CREDENTIALS, free_port

    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    with pytest.raises(CloudWatchError, match="ListMetrics for 'emb' failed"):
        reader(connect_timeout=1, max_attempts=2).observe("emb", "f", WINDOW)
