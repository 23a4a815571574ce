"""Lambda as observed by CloudWatch: `AWS/Lambda` metrics read with boto3 `GetMetricData`, hour by hour.

Endpoint and credentials come from the standard AWS SDK settings (`AWS_ENDPOINT_URL`, `AWS_PROFILE`, ...); the
region is the stack's (`aws:region`). Every call is bounded: connect/read timeouts and a fixed number of attempts
(botocore's standard retry mode), so an unreachable endpoint is an error in seconds, not a hang.

What the metrics mean, and how absence is read:
  * Lambda publishes no `Invocations`/`Errors`/`Throttles` datapoint for an hour without invocations. An hour
    without a datapoint is therefore 0 - but only when CloudWatch knows the function at all (`ListMetrics` lists
    an `AWS/Lambda` metric for it; real CloudWatch lists metrics with data in the last two weeks). A function
    CloudWatch does not know (never invoked, wrong name or region) is *missing*, never zero.
  * Gauges (`Duration`, `ConcurrentExecutions`, `ProvisionedConcurrencyUtilization`) have no value in an hour
    without datapoints: None there.
  * `Duration` p50/p99 are extended statistics (`Stat: "p99"`), asked in a call of their own so that an endpoint
    that cannot compute them (moto's server answers HTTP 500) loses only those two figures, which are then
    reported missing with the reason; the hourly `Maximum` Duration, which is >= p99, stays available as the
    conservative bound rightsizing uses when p99 is missing.
  * `ProvisionedConcurrencyUtilization` is per alias (dimension `Resource` = `<function>:<alias>`), a fraction: its
    hourly Maximum (peak, for rightsizing) and Average (mean over the window, the cost prediction's input).
  * Per version behind a weighted alias (`alias_versions`, for `preflight rollout`): Lambda publishes the
    invocations of an alias per version that ran them under the dimensions `FunctionName`, `Resource` =
    `<function>:<alias>` and `ExecutedVersion` = `<version>` (AWS: "use the ExecutedVersion dimension to compare
    error rates for two versions of a function that are both targets of a weighted alias"). They are read at
    Lambda's own resolution, one minute, with standard statistics only (Sum; Duration's SampleCount, Minimum,
    Maximum), which every CloudWatch API computes; the canary test bounds latency from them (`canary.py`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from preflight.observe.model import Measurement, ObservedService, ObservedTarget, Series, Window

NAMESPACE = "AWS/Lambda"
INSIGHTS_NAMESPACE = "LambdaInsights"
HOUR = 3600
MAX_QUERIES_PER_CALL = 500  # GetMetricData's limit
ALIAS = "live"  # the alias the ServerlessFunction component creates


class CloudWatchError(Exception):
    """CloudWatch could not be read (endpoint unreachable, credentials refused, bad region): exit 2."""


def cloudwatch_client(region: str, *, connect_timeout: float = 5, read_timeout: float = 20,
                      max_attempts: int = 3) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(region_name=region, connect_timeout=connect_timeout, read_timeout=read_timeout,
                    retries={"max_attempts": max_attempts, "mode": "standard"})
    return boto3.session.Session().client("cloudwatch", config=config)


def _dims(function: str, alias: str | None = None) -> list[dict[str, str]]:
    dims = [{"Name": "FunctionName", "Value": function}]
    if alias:
        dims.append({"Name": "Resource", "Value": f"{function}:{alias}"})
    return dims


@dataclass(frozen=True)
class _Query:
    id: str
    metric: str
    stat: str
    dims: tuple[tuple[str, str], ...]
    period: int
    namespace: str = NAMESPACE

    def api(self) -> dict[str, Any]:
        return {"Id": self.id, "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": self.namespace, "MetricName": self.metric,
                       "Dimensions": [{"Name": n, "Value": v} for n, v in self.dims]},
            "Period": self.period, "Stat": self.stat}}

    def text(self, window: Window) -> str:
        """The query as compact JSON: what to paste into `aws cloudwatch get-metric-data` to see the same."""
        return json.dumps({"Namespace": self.namespace, "MetricName": self.metric, "Dimensions": dict(self.dims),
                           "Stat": self.stat, "Period": self.period, "StartTime": window.start.isoformat(),
                           "EndTime": window.end.isoformat()}, separators=(",", ":"))


def _query(qid: str, metric: str, stat: str, function: str, period: int, alias: str | None = None) -> _Query:
    return _Query(qid, metric, stat, tuple((d["Name"], d["Value"]) for d in _dims(function, alias)), period)


MINUTE = 60  # Lambda publishes its metrics per minute


@dataclass(frozen=True)
class VersionFigures:
    """One version's invocations behind an alias over a window: totals, and Duration per minute for latency."""

    version: str
    requests: Measurement
    errors: Measurement
    duration_periods: tuple[tuple[float, float, float], ...]  # (SampleCount, Minimum, Maximum) per minute
    duration_query: str


def _error_text(exc: Exception) -> str:
    """A short reason without request ids, signatures or credentials."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = err.get("Code")
        if not code or str(code) == str(status):  # no error code in the answer (e.g. a bare 500): say it is HTTP's
            code = f"HTTP {status}"
        message = str(err.get("Message") or "")
        if message.lstrip().startswith("<"):  # an HTML error page
            message = ""
        return f"{code}{': ' + message[:200] if message else ''}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _fatal(exc: Exception) -> bool:
    """Errors that mean CloudWatch cannot be read at all (as opposed to one unsupported query)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        return any(word in code for word in ("Auth", "Credential", "Signature", "Token", "AccessDenied",
                                             "InvalidClientTokenId", "UnrecognizedClient"))
    return isinstance(exc, BotoCoreError)  # connection refused/timeouts/no credentials/bad endpoint


class CloudWatchReader:
    """Reads the `AWS/Lambda` metrics of one function over a window (one or two `GetMetricData` calls)."""

    def __init__(self, client: Any, region: str, endpoint: str | None = None) -> None:
        self.client = client
        self.region = region
        self.endpoint = endpoint or getattr(getattr(client, "meta", None), "endpoint_url", None)

    def _where(self) -> str:
        return f"CloudWatch {self.endpoint} (region {self.region})"

    def _get(self, queries: list[_Query], window: Window) -> dict[str, dict[datetime, float]]:
        out: dict[str, dict[datetime, float]] = {q.id: {} for q in queries}
        for start in range(0, len(queries), MAX_QUERIES_PER_CALL):
            batch = [q.api() for q in queries[start:start + MAX_QUERIES_PER_CALL]]
            token: str | None = None
            for _page in range(100):  # bounded pagination
                kwargs: dict[str, Any] = {"MetricDataQueries": batch, "StartTime": window.start,
                                          "EndTime": window.end, "ScanBy": "TimestampAscending"}
                if token:
                    kwargs["NextToken"] = token
                response = self.client.get_metric_data(**kwargs)
                for result in response.get("MetricDataResults", []):
                    # Results are matched by timestamp, never by position (the order is the server's).
                    for ts, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                        out[result["Id"]][ts] = float(value)
                token = response.get("NextToken")
                if not token:
                    break
        return out

    def known(self, function: str) -> bool:
        """Whether CloudWatch lists any AWS/Lambda metric for the function (see the module docstring)."""
        try:
            response = self.client.list_metrics(Namespace=NAMESPACE, Dimensions=_dims(function))
        except Exception as exc:  # noqa: BLE001 - every failure to reach CloudWatch is one clear error
            raise CloudWatchError(f"{self._where()}: ListMetrics for {function!r} failed: {_error_text(exc)}") \
                from None
        return bool(response.get("Metrics"))

    def executed_versions(self, function: str, alias: str) -> list[str]:
        """The versions CloudWatch lists invocations of through `alias` for (the `ExecutedVersion` dimension)."""
        versions: set[str] = set()
        token: str | None = None
        try:
            for _page in range(100):  # bounded pagination
                kwargs: dict[str, Any] = {"Namespace": NAMESPACE, "MetricName": "Invocations",
                                          "Dimensions": _dims(function, alias)}
                if token:
                    kwargs["NextToken"] = token
                response = self.client.list_metrics(**kwargs)
                for metric in response.get("Metrics", []):
                    dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
                    if "ExecutedVersion" in dims and dims.get("Resource") == f"{function}:{alias}":
                        versions.add(dims["ExecutedVersion"])
                token = response.get("NextToken")
                if not token:
                    break
        except Exception as exc:  # noqa: BLE001 - every failure to reach CloudWatch is one clear error
            raise CloudWatchError(f"{self._where()}: ListMetrics for {function!r} failed: {_error_text(exc)}") \
                from None
        return sorted(versions, key=lambda v: (int(v) if v.isdigit() else -1, v))

    def alias_versions(self, function: str, alias: str, versions: list[str], window: Window
                       ) -> dict[str, VersionFigures]:
        """Invocations, Errors and Duration (SampleCount, Minimum, Maximum per minute) of each version as run
        through `alias` in the window. A version without an Invocations datapoint served nothing (0)."""
        queries: list[_Query] = []
        for i, version in enumerate(versions):
            dims = (("FunctionName", function), ("Resource", f"{function}:{alias}"), ("ExecutedVersion", version))
            queries += [_Query(f"v{i}inv", "Invocations", "Sum", dims, MINUTE),
                        _Query(f"v{i}err", "Errors", "Sum", dims, MINUTE),
                        _Query(f"v{i}n", "Duration", "SampleCount", dims, MINUTE),
                        _Query(f"v{i}min", "Duration", "Minimum", dims, MINUTE),
                        _Query(f"v{i}max", "Duration", "Maximum", dims, MINUTE)]
        try:
            data = self._get(queries, window)
        except Exception as exc:  # noqa: BLE001
            raise CloudWatchError(f"{self._where()}: GetMetricData for {function!r} failed: {_error_text(exc)}") \
                from None
        out: dict[str, VersionFigures] = {}
        for i, version in enumerate(versions):
            inv, err, n, mn, mx = queries[5 * i:5 * i + 5]
            periods = tuple((n_, data[mn.id].get(ts, 0.0), data[mx.id].get(ts, 0.0))
                            for ts, n_ in sorted(data[n.id].items()) if n_ > 0)
            out[version] = VersionFigures(
                version,
                Measurement(sum(data[inv.id].values()), "requests", "cloudwatch", inv.text(window), window),
                Measurement(sum(data[err.id].values()), "errors", "cloudwatch", err.text(window), window),
                periods, f"{n.text(window)} + Minimum + Maximum")
        return out

    def kpi_samples(self, kpi: Any, function: str, versions: list[str], window: Window, period: int
                    ) -> dict[str, tuple[list[float], str]] | str:
        """A declared KPI (`spec.canary.kpis[]`) per version: ({version: (one value per period with data, the
        query)}), `$function`/`$version` substituted in its dimensions; or why the endpoint could not compute it
        (e.g. an extended statistic moto does not implement). Unreachable/refused CloudWatch: CloudWatchError."""
        queries = [_Query(f"k{i}", kpi.metric, kpi.statistic,
                          tuple((n, v.replace("$function", function).replace("$version", version))
                                for n, v in kpi.dimensions.items()), period, kpi.namespace)
                   for i, version in enumerate(versions)]
        try:
            data = self._get(queries, window)
        except Exception as exc:  # noqa: BLE001
            why = f"{self._where()}: GetMetricData for KPI {kpi.name!r} failed: {_error_text(exc)}"
            if _fatal(exc):
                raise CloudWatchError(why) from None
            return why
        return {v: ([value for _, value in sorted(data[q.id].items())], q.text(window))
                for v, q in zip(versions, queries, strict=True)}

    def observe(self, name: str, declaration: str, window: Window, function: str | None = None,
                alias: str = ALIAS) -> ObservedService:
        function = function or name
        step = window.step_seconds
        span = int((window.end - window.start).total_seconds())
        hourly = {
            "requests": _query("inv", "Invocations", "Sum", function, step),
            "errors": _query("err", "Errors", "Sum", function, step),
            "throttles": _query("thr", "Throttles", "Sum", function, step),
            "duration_ms": _query("dur", "Duration", "Average", function, step),
            "duration_max_ms": _query("durmax", "Duration", "Maximum", function, step),
            "concurrency_max": _query("conc", "ConcurrentExecutions", "Maximum", function, step),
            "pc_utilisation": _query("pcu", "ProvisionedConcurrencyUtilization", "Maximum", function, step, alias),
            "pc_utilisation_mean": _query("pcuavg", "ProvisionedConcurrencyUtilization", "Average", function, step,
                                          alias),
            "alias_requests": _query("ainv", "Invocations", "Sum", function, step, alias),
            "alias_errors": _query("aerr", "Errors", "Sum", function, step, alias),
            # Lambda Insights (the extension publishes it when enabled): the only CloudWatch figure of memory used
            "memory_used_max_mb": _Query("mem", "used_memory_max", "Maximum", (("function_name", function),), step,
                                         INSIGHTS_NAMESPACE),
        }
        percentiles = {"p50": _query("p50", "Duration", "p50", function, span),
                       "p95": _query("p95", "Duration", "p95", function, span),
                       "p99": _query("p99", "Duration", "p99", function, span)}
        known = self.known(function)
        try:
            data = self._get(list(hourly.values()), window)
        except Exception as exc:  # noqa: BLE001
            raise CloudWatchError(f"{self._where()}: GetMetricData for {function!r} failed: {_error_text(exc)}") \
                from None
        pct_missing: str | None = None
        try:
            pct = self._get(list(percentiles.values()), window)
        except Exception as exc:  # noqa: BLE001
            if _fatal(exc):
                raise CloudWatchError(f"{self._where()}: GetMetricData for {function!r} failed: "
                                      f"{_error_text(exc)}") from None
            pct, pct_missing = {}, (f"the endpoint did not compute the Duration extended statistics "
                                    f"({_error_text(exc)}); moto's server does not implement them")
        return _assemble(name, declaration, window, hourly, data, percentiles, pct, pct_missing, known,
                         self.region, function, alias)


def hours(window: Window) -> list[datetime]:
    count = int((window.end - window.start).total_seconds()) // window.step_seconds
    return [window.start + timedelta(seconds=i * window.step_seconds) for i in range(count)]


def _assemble(name: str, declaration: str, window: Window, hourly: dict[str, _Query],
              data: dict[str, dict[datetime, float]], percentiles: dict[str, _Query],
              pct: dict[str, dict[datetime, float]], pct_missing: str | None, known: bool, region: str,
              function: str, alias: str) -> ObservedService:
    slots = hours(window)
    unknown = (f"CloudWatch has no {NAMESPACE} metrics for FunctionName={function} in {region}: the function was "
               "not invoked in the last two weeks, or the name/region is wrong")
    counts = {"requests", "errors", "throttles", "alias_requests", "alias_errors"}
    series: dict[str, Series] = {}
    for key, query in hourly.items():
        values = data.get(query.id, {})
        fill = 0.0 if key in counts and known else None  # see the module docstring
        unit = {"duration_ms": "ms", "duration_max_ms": "ms", "memory_used_max_mb": "MB",
                "concurrency_max": "concurrent", "pc_utilisation": "ratio",
                "pc_utilisation_mean": "ratio"}.get(key, "count/hour")
        series[key] = Series(tuple(values.get(t, fill) for t in slots), unit, "cloudwatch", query.text(window), window)

    def measure(value: float | None, unit: str, query: str, reason: str | None) -> Measurement:
        return Measurement(value, unit, "cloudwatch", query, window, None if value is not None else reason)

    def total(key: str) -> float | None:
        values = [v for v in series[key].values if v is not None]
        return sum(values) if known and values else None

    requests, errors = total("requests"), total("errors")
    inv_q, err_q = series["requests"].query, series["errors"].query
    no_data = unknown if not known else None
    per_hour = requests / len(slots) if requests is not None and slots else None
    error_rate = errors / requests if requests and errors is not None else None
    rate_reason = no_data or "no invocations in the window: an error rate needs requests"
    durations = [(v, n) for v, n in zip(series["duration_ms"].values, series["requests"].values, strict=True)
                 if v is not None and n]
    mean_duration = (sum(v * n for v, n in durations) / sum(n for _, n in durations)) if durations else None
    no_duration = no_data or "no Duration datapoints in the window (no invocations)"

    def pctl(key: str) -> Measurement:
        query = percentiles[key]
        values = pct.get(query.id, {})
        value = next(iter(values.values()), None) if values else None
        reason = no_data or pct_missing or f"CloudWatch returned no Duration {key} for the window"
        return measure(value, "ms", query.text(window), reason)

    def mean(key: str, unit: str, reason: str) -> Measurement:
        values = [v for v in series[key].values if v is not None]
        return measure(sum(values) / len(values) if values else None, unit, series[key].query, no_data or reason)

    def peak(key: str, unit: str, reason: str) -> Measurement:
        values = [v for v in series[key].values if v is not None]
        return measure(max(values) if values else None, unit, series[key].query, no_data or reason)

    alias_requests = [v for v in series["alias_requests"].values if v]
    alias_known = known and bool(alias_requests)
    targets: dict[str, ObservedTarget] = {}
    if alias_known:
        a_req = sum(alias_requests)
        a_err = sum(v for v in series["alias_errors"].values if v)
        aq, eq = series["alias_requests"].query, series["alias_errors"].query
        targets[alias] = ObservedTarget(
            name=alias, requests_per_hour=measure(a_req / len(slots), "requests/hour", aq, None),
            error_rate=measure(a_err / a_req, "ratio", f"{eq} / {aq}", None),
            latency_p50_ms=pctl("p50"), latency_p95_ms=pctl("p95"), latency_p99_ms=pctl("p99"),
            requests=measure(a_req, "requests", aq, None), errors=measure(a_err, "errors", eq, None))
    return ObservedService(
        name=name, kind="lambda", declaration=declaration, window=window,
        requests_per_hour=measure(per_hour, "requests/hour", inv_q, no_data),
        error_rate=measure(error_rate, "ratio", f"{err_q} / {inv_q}", rate_reason),
        latency_p50_ms=pctl("p50"), latency_p99_ms=pctl("p99"),
        peak_concurrency=peak("concurrency_max", "concurrent", "no ConcurrentExecutions datapoints in the window"),
        duration_mean_ms=measure(mean_duration, "ms", series["duration_ms"].query, no_duration),
        throttles=measure(total("throttles"), "count", series["throttles"].query, no_data),
        provisioned_concurrency_utilisation=peak(
            "pc_utilisation", "ratio", f"no ProvisionedConcurrencyUtilization datapoints for alias {alias} "
            "(no provisioned concurrency, or no data)"),
        # The cost's input: the mean of the hourly Average over the hours with datapoints (an hour without any is
        # unknown, not idle, so it is left out rather than counted as 0 %).
        provisioned_concurrency_utilisation_mean=mean(
            "pc_utilisation_mean", "ratio", f"no ProvisionedConcurrencyUtilization datapoints for alias {alias} "
            "(no provisioned concurrency, or no data)"),
        hourly=series, targets=targets)
