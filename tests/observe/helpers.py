"""Put Lambda metrics into (moto) CloudWatch the way Lambda publishes them: hourly sums and statistic sets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

END = datetime(2026, 11, 29, tzinfo=UTC)  # the observation window ends here in every test (`--until`)
PerHour = Callable[[int], float | None]  # hour index from the window start -> value (None: no datapoint)


def client(region: str = "eu-west-1") -> Any:
    return boto3.client("cloudwatch", region_name=region)


def put_lambda(function: str, *, days: int, invocations: PerHour, duration_ms: PerHour,
               concurrency: PerHour | None = None, pc_utilisation: PerHour | None = None,
               memory_used_mb: PerHour | None = None, errors: PerHour | None = None,
               region: str = "eu-west-1", alias: str = "live", end: datetime = END) -> None:
    """`days` of hourly datapoints ending at `end`; hours where `invocations` is 0 get no Invocations datapoint
    (as Lambda publishes nothing for an hour without invocations)."""
    cw = client(region)
    start = end - timedelta(days=days)
    fn = [{"Name": "FunctionName", "Value": function}]
    aliased = [*fn, {"Name": "Resource", "Value": f"{function}:{alias}"}]
    data: list[dict[str, Any]] = []
    for h in range(days * 24):
        ts = start + timedelta(hours=h)
        n = invocations(h) or 0
        if n:
            mean = duration_ms(h) or 0.0
            stats = {"SampleCount": n, "Sum": n * mean, "Minimum": mean * 0.5, "Maximum": mean * 2}
            data += [{"MetricName": "Invocations", "Dimensions": dims, "Timestamp": ts, "Value": n, "Unit": "Count"}
                     for dims in (fn, aliased)]
            data.append({"MetricName": "Duration", "Dimensions": fn, "Timestamp": ts, "StatisticValues": stats,
                         "Unit": "Milliseconds"})
            if errors is not None:
                data.append({"MetricName": "Errors", "Dimensions": fn, "Timestamp": ts, "Value": errors(h) or 0.0,
                             "Unit": "Count"})
        for name, dims, fn_of_h, unit in (("ConcurrentExecutions", fn, concurrency, "Count"),
                                          ("ProvisionedConcurrencyUtilization", aliased, pc_utilisation, "None")):
            value = fn_of_h(h) if fn_of_h is not None else None
            if value is not None:
                data.append({"MetricName": name, "Dimensions": dims, "Timestamp": ts, "Value": value, "Unit": unit})
    for i in range(0, len(data), 500):
        cw.put_metric_data(Namespace="AWS/Lambda", MetricData=data[i:i + 500])
    if memory_used_mb is not None:
        insights = [{"MetricName": "used_memory_max", "Dimensions": [{"Name": "function_name", "Value": function}],
                     "Timestamp": start + timedelta(hours=h), "Value": memory_used_mb(h), "Unit": "Megabytes"}
                    for h in range(days * 24) if memory_used_mb(h) is not None]
        for i in range(0, len(insights), 500):
            cw.put_metric_data(Namespace="LambdaInsights", MetricData=insights[i:i + 500])


def put_alias_versions(function: str, versions: dict[str, dict[str, float]], *, minutes: int, alias: str = "live",
                       region: str = "eu-west-1", end: datetime = END) -> None:
    """Per-minute metrics of each version run through a weighted alias, as Lambda publishes them (dimensions
    FunctionName, Resource=<function>:<alias>, ExecutedVersion): `versions[v]` = {"per_minute": invocations,
    "error_rate", "min_ms", "max_ms"} (Duration as a statistic set with that minimum and maximum)."""
    cw = client(region)
    data: list[dict[str, Any]] = []
    for version, shape in versions.items():
        dims = [{"Name": "FunctionName", "Value": function}, {"Name": "Resource", "Value": f"{function}:{alias}"},
                {"Name": "ExecutedVersion", "Value": version}]
        n, low, high = shape["per_minute"], shape["min_ms"], shape["max_ms"]
        for m in range(minutes):
            ts = end - timedelta(minutes=minutes - m)
            stats = {"SampleCount": n, "Sum": n * (low + high) / 2, "Minimum": low, "Maximum": high}
            data += [{"MetricName": "Invocations", "Dimensions": dims, "Timestamp": ts, "Value": n, "Unit": "Count"},
                     {"MetricName": "Errors", "Dimensions": dims, "Timestamp": ts, "Value": n * shape["error_rate"],
                      "Unit": "Count"},
                     {"MetricName": "Duration", "Dimensions": dims, "Timestamp": ts, "StatisticValues": stats,
                      "Unit": "Milliseconds"}]
    for i in range(0, len(data), 500):
        cw.put_metric_data(Namespace="AWS/Lambda", MetricData=data[i:i + 500])


def put_version_gauge(namespace: str, metric: str, function: str, values: dict[str, float], *, minutes: int,
                      region: str = "eu-west-1", end: datetime = END) -> None:
    """One datapoint a minute of a custom gauge per executed version (e.g. a model-quality score the handler
    publishes), dimensions FunctionName and ExecutedVersion: `values[version]` every minute of the window."""
    cw = client(region)
    data = [{"MetricName": metric, "Timestamp": end - timedelta(minutes=minutes - m), "Value": value,
             "Dimensions": [{"Name": "FunctionName", "Value": function}, {"Name": "ExecutedVersion", "Value": v}]}
            for v, value in values.items() for m in range(minutes)]
    for i in range(0, len(data), 500):
        cw.put_metric_data(Namespace=namespace, MetricData=data[i:i + 500])
