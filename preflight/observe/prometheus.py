"""Knative Services observed through Prometheus' HTTP API (`/api/v1/query`, `/api/v1/query_range`) with PromQL.

What is queried: the queue-proxy metrics every Knative revision exports,
  * `revision_app_request_count` (a counter; label `response_code_class`: 2xx, 4xx, 5xx),
  * `revision_app_request_latencies_bucket|_sum|_count` (a histogram in milliseconds),
with the labels `namespace_name`, `service_name`, `configuration_name`, `revision_name`.

Every figure is `increase(...[<window>s])` evaluated at the window's end (so a history that starts at zero inside
the window is counted exactly), and carries its PromQL and window (`Measurement`). An empty answer is *missing*
(with the reason), never zero; a histogram quantile over no requests (NaN) is missing too.

CPU and memory come from the kubelet's cAdvisor metrics of the service's pods (`container_cpu_usage_seconds_total`,
`container_memory_working_set_bytes`; namespace, pod `<service>-NNNNN-deployment-...`, the user container, i.e. not
queue-proxy): the busiest pod each minute, then the P99 (and max) over the window's minutes.

Peak concurrency comes from Little's law on the latency sum: `rate(latencies_sum[1m]) / 1000` is the mean number
of requests in flight during that minute (seconds of latency accrued per second); the peak is its maximum over
the window (a 1-minute subquery).

For `autoscaling.knative.dev/target` the autoscaler's own metrics are read (Knative Serving v1.17 names, as its
OpenCensus Prometheus exporter writes them; labels `namespace_name`, `service_name`, `configuration_name`,
`revision_name`): `autoscaler_stable_request_concurrency` (a revision's requests in flight averaged over the
stable window, summed over its pods - what the autoscaler divides by the target), `autoscaler_actual_pods`,
`autoscaler_target_concurrency_per_pod`, `autoscaler_panic_mode`, and the queue-proxy's `revision_queue_depth`
(per pod; reported only when containerConcurrency > 0). Requests in flight per pod each minute are
`sum(stable_request_concurrency) / sum(actual_pods)` (minutes at zero pods left out).

Requests are bounded: each HTTP call has a timeout (`timeout_s`), each client a budget of calls
(`max_queries`) and each answer a size limit; an unreachable server or an API error is `PrometheusError` with the
URL (without credentials) and what went wrong - the CLI exits 2 and commits nothing.
"""

from __future__ import annotations

import json
import math
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from preflight.observe.model import Measurement, ObservedService, ObservedTarget, Series, Window

DEFAULT_TIMEOUT_S = 10.0
PROMETHEUS_URL_ENV = "PROMETHEUS_URL"
LOCAL_PROMETHEUS = "http://127.0.0.1:9090"


def prometheus_url(flag: str | None, default: str | None = LOCAL_PROMETHEUS) -> str | None:
    """The Prometheus every command uses: `--prometheus`, else $PROMETHEUS_URL, else `default` (rollout and
    rightsize try a local server; observe passes None and reports Knative figures missing instead)."""
    return flag or os.environ.get(PROMETHEUS_URL_ENV) or default
DEFAULT_MAX_QUERIES = 200
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
MAX_RANGE_POINTS = 11_000  # Prometheus refuses more than 11,000 points per series


class PrometheusError(RuntimeError):
    """Prometheus could not be asked, or refused the query; the message names the server and the reason."""


class PrometheusQueryError(PrometheusError):
    """Prometheus answered, with an error for this query (bad PromQL, an execution error or timeout): the server
    is reachable, the one query is not measurable."""


def _redact(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass
class PrometheusClient:
    url: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_queries: int = DEFAULT_MAX_QUERIES
    asked: list[str] = field(default_factory=list)  # every PromQL expression sent, in order

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PrometheusError(f"--prometheus {self.url!r}: expected http(s)://host[:port][/path]")
        self.url = self.url.rstrip("/")

    @property
    def shown_url(self) -> str:
        return _redact(self.url)

    def _get(self, path: str, params: dict[str, str]) -> Any:
        if len(self.asked) >= self.max_queries:
            raise PrometheusError(f"{self.shown_url}: more than {self.max_queries} queries in one run; refusing more")
        if "query" in params:
            self.asked.append(params["query"])
        request = urllib.request.Request(f"{self.url}{path}?{urllib.parse.urlencode(params)}",
                                         headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - http(s) only
                body = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            body = exc.read(MAX_RESPONSE_BYTES + 1)
            if exc.code not in (400, 422, 503):  # the API answers errors with JSON at these codes
                raise PrometheusError(f"{self.shown_url}{path}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PrometheusError(f"cannot reach Prometheus at {self.shown_url}: {reason} (is it running? "
                                  "pass --prometheus URL)") from None
        if len(body) > MAX_RESPONSE_BYTES:
            raise PrometheusError(f"{self.shown_url}{path}: answer larger than {MAX_RESPONSE_BYTES} bytes; refused")
        try:
            doc = json.loads(body)
        except ValueError:
            raise PrometheusError(f"{self.shown_url}{path}: the answer is not JSON (is this Prometheus?)") from None
        if not isinstance(doc, dict) or doc.get("status") != "success":
            error = doc.get("error", "unknown error") if isinstance(doc, dict) else "unknown error"
            what = f" for `{params.get('query', '')}`" if params.get("query") else ""
            raise PrometheusQueryError(f"{self.shown_url}: query failed{what}: {error}")
        return doc.get("data")

    def check(self) -> str:
        """The server's version; raises `PrometheusError` when it cannot be reached."""
        data = self._get("/api/v1/status/buildinfo", {})
        return str((data or {}).get("version", "unknown"))

    def query(self, promql: str, at: datetime) -> list[tuple[dict[str, str], float]]:
        """An instant vector at `at`: (labels, value) per series."""
        data = self._get("/api/v1/query", {"query": promql, "time": f"{at.timestamp():.3f}",
                                           "timeout": f"{self.timeout_s:g}s"})
        if data.get("resultType") == "scalar":
            return [({}, float(data["result"][1]))]
        if data.get("resultType") != "vector":
            raise PrometheusError(f"{self.shown_url}: `{promql}` returned {data.get('resultType')}, expected a vector")
        return [(dict(item["metric"]), float(item["value"][1])) for item in data["result"]]

    def query_range(self, promql: str, window: Window) -> list[tuple[dict[str, str], dict[float, float]]]:
        """A range query over `window` at `window.step_seconds`: (labels, {unix time: value}) per series."""
        points = (window.end - window.start).total_seconds() / window.step_seconds
        if points > MAX_RANGE_POINTS:
            raise PrometheusError(f"window {window.label()} at {window.step_seconds}s steps is {points:.0f} points "
                                  f"(Prometheus allows {MAX_RANGE_POINTS}); use a longer step")
        data = self._get("/api/v1/query_range", {"query": promql, "start": f"{window.start.timestamp():.3f}",
                                                 "end": f"{window.end.timestamp():.3f}",
                                                 "step": f"{window.step_seconds}s", "timeout": f"{self.timeout_s:g}s"})
        return [(dict(item["metric"]), {float(t): float(v) for t, v in item["values"]}) for item in data["result"]]


# ---- PromQL for Knative's queue-proxy metrics ------------------------------------------------------------------

def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def selector(namespace: str, service: str, **labels: str) -> str:
    pairs = {"namespace_name": namespace, "service_name": service, **labels}
    return ",".join(f"{k}={_quote(v)}" for k, v in pairs.items())


def _by(per_revision: bool, *extra: str) -> str:
    keys = (["revision_name"] if per_revision else []) + list(extra)
    return f" by ({', '.join(keys)})" if keys else ""


def requests_query(sel: str, seconds: int, per_revision: bool = True) -> str:
    return f"sum{_by(per_revision)} (increase(revision_app_request_count{{{sel}}}[{seconds}s]))"


def errors_query(namespace: str, service: str, seconds: int, per_revision: bool = True) -> str:
    sel = selector(namespace, service, response_code_class="5xx")
    return f"sum{_by(per_revision)} (increase(revision_app_request_count{{{sel}}}[{seconds}s]))"


def buckets_query(sel: str, seconds: int, per_revision: bool = True) -> str:
    return f"sum{_by(per_revision, 'le')} (increase(revision_app_request_latencies_bucket{{{sel}}}[{seconds}s]))"


def quantile_query(q: float, sel: str, seconds: int, per_revision: bool = True) -> str:
    return f"histogram_quantile({q:g}, {buckets_query(sel, seconds, per_revision)})"


def peak_concurrency_query(sel: str, seconds: int) -> str:
    return f"max_over_time((sum(rate(revision_app_request_latencies_sum{{{sel}}}[1m])) / 1000)[{seconds}s:1m])"


def pod_selector(namespace: str, service: str) -> str:
    return (f"namespace={_quote(namespace)},pod=~{_quote(re.escape(service) + '-[0-9]+-deployment-.+')},"
            'container!~"queue-proxy|POD|"')


def cpu_p99_query(namespace: str, service: str, seconds: int, quantile: float = 0.99) -> str:
    pods = pod_selector(namespace, service)
    return (f"quantile_over_time({quantile:g}, max(rate(container_cpu_usage_seconds_total{{{pods}}}[2m]))"
            f"[{seconds}s:1m]) * 1000")


def memory_query(namespace: str, service: str, seconds: int, quantile: float | None) -> str:
    inner = f"max(container_memory_working_set_bytes{{{pod_selector(namespace, service)}}})[{seconds}s:1m]"
    over = f"quantile_over_time({quantile:g}, {inner})" if quantile is not None else f"max_over_time({inner})"
    return f"{over} / 1048576"


def concurrency_p99_query(sel: str, seconds: int) -> str:
    in_flight = f"sum(rate(revision_app_request_latencies_sum{{{sel}}}[1m])) / 1000"
    return f"quantile_over_time(0.99, ({in_flight})[{seconds}s:1m])"


def _pod_concurrency(sel: str) -> str:
    return (f"sum(autoscaler_stable_request_concurrency{{{sel}}}) / "
            f"(sum(autoscaler_actual_pods{{{sel}}}) > 0)")


def pod_concurrency_query(q: float, sel: str, seconds: int) -> str:
    return f"quantile_over_time({q:g}, ({_pod_concurrency(sel)})[{seconds}s:1m])"


def autoscaler_target_query(sel: str, seconds: int) -> str:
    return f"max_over_time(max(autoscaler_target_concurrency_per_pod{{{sel}}})[{seconds}s:1m])"


def queue_depth_query(sel: str, seconds: int) -> str:
    return f"quantile_over_time(0.99, max(revision_queue_depth{{{sel}}})[{seconds}s:1m])"


def panic_query(sel: str, seconds: int) -> str:
    return f"max_over_time(max(autoscaler_panic_mode{{{sel}}})[{seconds}s:1m])"


def mean_latency_query(sel: str, seconds: int) -> str:
    return (f"sum(increase(revision_app_request_latencies_sum{{{sel}}}[{seconds}s])) / "
            f"sum(increase(revision_app_request_latencies_count{{{sel}}}[{seconds}s]))")


def hourly_requests_query(sel: str) -> str:
    return f"sum(increase(revision_app_request_count{{{sel}}}[1h]))"


def hourly_latency_p50_query(sel: str) -> str:
    return f"histogram_quantile(0.5, sum by (le) (increase(revision_app_request_latencies_bucket{{{sel}}}[1h])))"


# ---- reading them ------------------------------------------------------------------------------------------------

def _seconds(window: Window) -> int:
    seconds = int((window.end - window.start).total_seconds())
    if seconds <= 0:
        raise PrometheusError(f"window {window.label()}: the end must be after the start")
    return seconds


def _measure(value: float | None, unit: str, query: str, window: Window, missing: str) -> Measurement:
    if value is None or math.isnan(value) or math.isinf(value):
        return Measurement(None, unit, "prometheus", query, window, missing)
    return Measurement(value, unit, "prometheus", query, window)


@dataclass(frozen=True)
class RevisionHistogram:
    """Cumulative latency bucket counts of one revision over the window: ((upper bound ms, count), ...)."""

    buckets: tuple[tuple[float, float], ...]

    def count_above(self, bound_ms: float) -> tuple[float, float]:
        """(the smallest bucket bound >= bound_ms, requests slower than it). The bound is `inf` past the last."""
        total = self.buckets[-1][1] if self.buckets else 0.0
        for le, count in self.buckets:
            if le >= bound_ms:
                return le, total - count
        return math.inf, 0.0


def latency_histograms(client: PrometheusClient, namespace: str, service: str,
                       window: Window) -> tuple[str, dict[str, RevisionHistogram]]:
    """(the query, per revision its cumulative buckets) over the window."""
    query = buckets_query(selector(namespace, service), _seconds(window))
    per: dict[str, list[tuple[float, float]]] = {}
    for labels, value in client.query(query, window.end):
        le = labels.get("le")
        if le is None or "revision_name" not in labels:
            continue
        per.setdefault(labels["revision_name"], []).append((math.inf if le == "+Inf" else float(le), value))
    return query, {rev: RevisionHistogram(tuple(sorted(b))) for rev, b in per.items()}


def _per_revision(client: PrometheusClient, query: str, at: datetime) -> dict[str, float]:
    return {labels["revision_name"]: value for labels, value in client.query(query, at) if "revision_name" in labels}


def observe_targets(client: PrometheusClient, namespace: str, service: str,
                    window: Window) -> dict[str, ObservedTarget]:
    """Per revision that served requests in the window: counts, error rate, latency quantiles."""
    seconds = _seconds(window)
    sel = selector(namespace, service)
    hours = seconds / 3600
    rq, eq = requests_query(sel, seconds), errors_query(namespace, service, seconds)
    requests, errors = _per_revision(client, rq, window.end), _per_revision(client, eq, window.end)
    quantiles = {q: (quantile_query(q, sel, seconds), _per_revision(client, quantile_query(q, sel, seconds),
                                                                    window.end)) for q in (0.5, 0.95, 0.99)}
    targets: dict[str, ObservedTarget] = {}
    for revision in sorted(requests):
        n = requests[revision]
        no_series = f"no {service} series for revision {revision} in the window"
        # A revision whose 5xx series never appeared has served no error yet: its request series proves it ran.
        k = errors.get(revision, 0.0)
        rate_query = f"({eq}) / ({rq})"

        def q(level: float, rev: str = revision) -> Measurement:
            query, values = quantiles[level]
            return _measure(values.get(rev), "ms", query, window, f"no latency histogram for {rev} in the window "
                            "(or no requests)")

        targets[revision] = ObservedTarget(
            name=revision,
            requests_per_hour=_measure(n / hours, "requests/hour", rq, window, no_series),
            error_rate=_measure(k / n if n > 0 else None, "ratio", rate_query, window,
                                f"{revision} served no requests in the window"),
            latency_p50_ms=q(0.5), latency_p95_ms=q(0.95), latency_p99_ms=q(0.99),
            requests=_measure(n, "requests", rq, window, no_series),
            errors=_measure(k, "requests", eq, window, no_series),
        )
    return targets


def _single(client: PrometheusClient, query: str, window: Window, unit: str, missing: str,
            scale: float = 1.0) -> Measurement:
    result = client.query(query, window.end)
    value = result[0][1] * scale if result else None
    return _measure(value, unit, query, window, missing)


def _hourly(client: PrometheusClient, query: str, window: Window, unit: str) -> Series:
    hourly = Window(window.start, window.end, 3600)
    result = client.query_range(query, hourly)
    points = result[0][1] if result else {}
    steps = int((hourly.end - hourly.start).total_seconds() // 3600) + 1
    start = hourly.start.timestamp()
    values = tuple(_finite(points.get(start + i * 3600)) for i in range(steps))
    return Series(values, unit, "prometheus", query, hourly)


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else value


def observe_knative(service_decl: Any, prometheus: str | PrometheusClient, window: Window,
                    namespace: str | None = None) -> ObservedService:
    """What Prometheus saw of one Knative declaration (`components.specs.loader.Declaration`, kind "knative") over
    `window`. `namespace`: the stack's (`guardrails:namespace`) when the manifest names none. Raises
    `PrometheusError` when Prometheus cannot be asked (nothing is guessed)."""
    client = prometheus if isinstance(prometheus, PrometheusClient) else PrometheusClient(prometheus)
    if getattr(service_decl, "kind", None) != "knative":
        raise ValueError(f"{getattr(service_decl, 'name', service_decl)!r} is not a Knative declaration")
    name = service_decl.name
    ns = service_decl.spec.namespace or namespace or "default"
    seconds = _seconds(window)
    sel = selector(ns, name)
    nothing = f"no {name} metrics in namespace {ns} in the window (no revision reported to Prometheus)"
    no_pods = f"no cAdvisor container metrics for {name}'s pods in namespace {ns} in the window"
    requests = _single(client, requests_query(sel, seconds, per_revision=False), window, "requests/hour", nothing,
                       scale=3600 / seconds)
    rq, eq = requests_query(sel, seconds, False), errors_query(ns, name, seconds, False)
    total = client.query(rq, window.end)
    errors = client.query(eq, window.end)
    n = total[0][1] if total else None
    k = errors[0][1] if errors else (0.0 if n is not None else None)
    error_rate = _measure(k / n if n else None, "ratio", f"({eq}) / ({rq})", window,
                          nothing if n is None else "no requests in the window")
    no_autoscaler = (f"no Knative autoscaler metrics for {name} in namespace {ns} in the window (is the "
                     "autoscaler's metrics endpoint scraped?)")
    no_queue = (f"no revision_queue_depth for {name} in namespace {ns} in the window (queue-proxy reports it only "
                "with containerConcurrency > 0)")
    return ObservedService(
        name=name, kind="knative", declaration=service_decl.file, window=window,
        requests_per_hour=requests, error_rate=error_rate,
        latency_p50_ms=_single(client, quantile_query(0.5, sel, seconds, False), window, "ms", nothing),
        latency_p99_ms=_single(client, quantile_query(0.99, sel, seconds, False), window, "ms", nothing),
        peak_concurrency=_single(client, peak_concurrency_query(sel, seconds), window, "concurrent", nothing),
        duration_mean_ms=_single(client, mean_latency_query(sel, seconds), window, "ms", nothing),
        cpu_p99_millicores=_single(client, cpu_p99_query(ns, name, seconds), window, "millicores", no_pods),
        memory_p99_mib=_single(client, memory_query(ns, name, seconds, 0.99), window, "MiB", no_pods),
        memory_max_mib=_single(client, memory_query(ns, name, seconds, None), window, "MiB", no_pods),
        cpu_p50_millicores=_single(client, cpu_p99_query(ns, name, seconds, 0.5), window, "millicores", no_pods),
        memory_p50_mib=_single(client, memory_query(ns, name, seconds, 0.5), window, "MiB", no_pods),
        concurrency_p99=_single(client, concurrency_p99_query(sel, seconds), window, "concurrent", nothing),
        pod_concurrency_p99=_single(client, pod_concurrency_query(0.99, sel, seconds), window, "concurrent/pod",
                                    no_autoscaler),
        pod_concurrency_p50=_single(client, pod_concurrency_query(0.5, sel, seconds), window, "concurrent/pod",
                                    no_autoscaler),
        autoscaler_target_per_pod=_single(client, autoscaler_target_query(sel, seconds), window, "concurrent/pod",
                                          no_autoscaler),
        queue_depth_p99=_single(client, queue_depth_query(sel, seconds), window, "requests", no_queue),
        panic_max=_single(client, panic_query(sel, seconds), window, "flag", no_autoscaler),
        hourly={"requests": _hourly(client, hourly_requests_query(sel), window, "requests/hour"),
                "latency_p50_ms": _hourly(client, hourly_latency_p50_query(sel), window, "ms")},
        targets=observe_targets(client, ns, name, window),
    )


__all__: Sequence[str] = ["PrometheusClient", "PrometheusError", "PrometheusQueryError", "RevisionHistogram",
                          "latency_histograms", "observe_knative", "observe_targets", "selector"]
