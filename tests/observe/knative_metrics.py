"""Knative queue-proxy metrics of simulated revisions, as pure functions of the requests served so far.

The same numbers feed the live exporter (`knative_exporter.py`, scraped by the real Prometheus) and the
backfilled history (`promtool tsdb create-blocks-from openmetrics`), so a test knows exactly what was served:
`requests` requests, `floor(requests * error_rate)` of them 5xx, latencies log-normal with the given median.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Knative's queue-proxy latency distribution (ms), pkg/metrics defaultLatencyDistribution.
LATENCY_BUCKETS_MS = (5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000,
                      2000, 5000, 10000, 20000, 50000, 100000)


@dataclass(frozen=True)
class Revision:
    name: str  # `<service>-NNNNN`
    rps: float = 50.0  # live exporter: requests per second
    error_rate: float = 0.0
    latency_median_ms: float = 80.0
    latency_sigma: float = 0.3  # log-normal shape
    model_quality: float | None = None  # a gauge `model_quality` (a KPI a canary can declare), when set
    cpu_cores: float | None = None  # cAdvisor: the user container's CPU use, when set
    memory_mib: float | None = None  # cAdvisor: its working set
    # Knative's autoscaler (Serving v1.17 names), when `pods` is set: the revision's requests in flight over the
    # stable window (summed over its pods), the pods it has, its target per pod, panic mode; and queue-proxy's
    # queue depth per pod (reported only with containerConcurrency > 0, so only when `queue_depth` is set)
    pods: int | None = None
    in_flight: float = 0.0
    target_per_pod: float = 70.0
    panic: bool = False
    queue_depth: float | None = None
    # the load per pod swings as in_flight/pods x (1 + swing x sin(2 pi t / period)); the user container then uses
    # cpu_cores + cpu_per_request x that load, memory_mib + memory_per_request x that load
    swing: float = 0.0
    swing_period_s: float = 1800.0
    cpu_per_request: float = 0.0
    memory_per_request_mib: float = 0.0

    def per_pod(self, t: float) -> float:
        if not self.pods:
            return 0.0
        return self.in_flight / self.pods * (1 + self.swing * math.sin(2 * math.pi * t / self.swing_period_s))

    def cpu_seconds(self, t: float) -> float:
        """The user container's CPU counter at t: the integral of its use."""
        omega = 2 * math.pi / self.swing_period_s
        mean = self.in_flight / self.pods if self.pods else 0.0
        return self.cpu_cores * t + self.cpu_per_request * mean * (t + self.swing * (1 - math.cos(omega * t)) / omega)

    def cdf(self, le_ms: float) -> float:
        z = (math.log(le_ms) - math.log(self.latency_median_ms)) / self.latency_sigma
        return 0.5 * (1 + math.erf(z / math.sqrt(2)))

    def mean_ms(self) -> float:
        return self.latency_median_ms * math.exp(self.latency_sigma ** 2 / 2)


AUTOSCALER_GAUGES = ("autoscaler_stable_request_concurrency", "autoscaler_actual_pods",
                     "autoscaler_target_concurrency_per_pod", "autoscaler_panic_mode", "revision_queue_depth")
QUEUE_PROXY_CPU_CORES, QUEUE_PROXY_MEMORY_MIB = 0.05, 40.0  # the sidecar, which rightsizing must not count


def samples(namespace: str, service: str, revision: Revision, requests: int,
            elapsed_s: float = 0.0) -> list[tuple[str, dict, float]]:
    """(metric name, labels, value) of every series one revision exposes after `requests` requests and
    `elapsed_s` seconds of running (CPU seconds accrue with time)."""
    errors = math.floor(requests * revision.error_rate + 1e-9)
    out: list[tuple[str, dict, float]] = []
    for code, cls, count in (("200", "2xx", requests - errors), ("500", "5xx", errors)):
        labels = {"namespace_name": namespace, "service_name": service, "configuration_name": service,
                  "revision_name": revision.name, "pod_name": f"{revision.name}-deployment-0", "container_name":
                  "queue-proxy", "response_code": code, "response_code_class": cls}
        out.append(("revision_app_request_count", labels, float(count)))
        cumulative = 0
        for le in LATENCY_BUCKETS_MS:
            cumulative = max(cumulative, math.floor(count * revision.cdf(le) + 1e-9))
            out.append(("revision_app_request_latencies_bucket", {**labels, "le": f"{le:g}"}, float(cumulative)))
        out.append(("revision_app_request_latencies_bucket", {**labels, "le": "+Inf"}, float(count)))
        out.append(("revision_app_request_latencies_count", labels, float(count)))
        out.append(("revision_app_request_latencies_sum", labels, count * revision.mean_ms()))
    if revision.cpu_cores is not None and revision.memory_mib is not None:
        pod = {"namespace": namespace, "pod": f"{revision.name}-deployment-7d9f8b6c5-x2x4z"}
        user_mib = revision.memory_mib + revision.memory_per_request_mib * revision.per_pod(elapsed_s)
        for container, cpu_seconds, mib in (("user-container", revision.cpu_seconds(elapsed_s), user_mib),
                                            ("queue-proxy", QUEUE_PROXY_CPU_CORES * elapsed_s, QUEUE_PROXY_MEMORY_MIB)):
            labels = {**pod, "container": container}
            out.append(("container_cpu_usage_seconds_total", labels, cpu_seconds))
            out.append(("container_memory_working_set_bytes", labels, mib * 1048576))
    revision_labels = {"namespace_name": namespace, "service_name": service, "configuration_name": service,
                       "revision_name": revision.name}
    if revision.pods is not None:
        in_flight = revision.per_pod(elapsed_s) * revision.pods
        out += [("autoscaler_stable_request_concurrency", revision_labels, in_flight),
                ("autoscaler_actual_pods", revision_labels, float(revision.pods)),
                ("autoscaler_target_concurrency_per_pod", revision_labels, revision.target_per_pod),
                ("autoscaler_panic_mode", revision_labels, 1.0 if revision.panic else 0.0)]
    if revision.queue_depth is not None:
        for pod in range(revision.pods or 1):
            out.append(("revision_queue_depth", {**revision_labels, "pod_name": f"{revision.name}-deployment-{pod}",
                                                 "container_name": "queue-proxy"}, revision.queue_depth))
    if revision.model_quality is not None:
        out.append(("model_quality", {"namespace_name": namespace, "service_name": service,
                                      "revision_name": revision.name}, revision.model_quality))
    return out


def _labels(labels: dict) -> str:
    return ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))


def openmetrics_history(namespace: str, service: str, totals: dict[Revision, int], start_s: int, end_s: int,
                        step_s: int = 15, hourly_weights: Sequence[float] | None = None) -> str:
    """OpenMetrics text for promtool: each revision's counters rise linearly from 0 at `start_s` to its total at
    `end_s` (the last sample exactly at `end_s`, so `increase(...[w])` evaluated there is exact); with
    `hourly_weights`, the request rate of the i-th hour from `start_s` is proportional to its weight."""
    times = list(range(start_s, end_s, step_s)) + [end_s]

    def share(t: int) -> float:  # of the total served by t
        if not hourly_weights:
            return (t - start_s) / (end_s - start_s)
        done = 0.0
        for hour, weight in enumerate(hourly_weights):
            lo, hi = start_s + hour * 3600, min(end_s, start_s + (hour + 1) * 3600)
            done += weight * max(0, min(t, hi) - lo)
        return done / sum(w * max(0, min(end_s, start_s + (h + 1) * 3600) - (start_s + h * 3600))
                          for h, w in enumerate(hourly_weights))

    families: dict[str, list[str]] = {"revision_app_request_count": [], "revision_app_request_latencies": [],
                                      "model_quality": [], "container_cpu_usage_seconds_total": [],
                                      "container_memory_working_set_bytes": [],
                                      **{name: [] for name in AUTOSCALER_GAUGES}}
    for revision, total in totals.items():
        for t in times:
            served = round(total * share(t))
            for name, labels, value in samples(namespace, service, revision, served, t - start_s):
                family = next(f for f in families if name.startswith(f))
                families[family].append(f"{name}{{{_labels(labels)}}} {value:.6f} {t}")
    out = []
    for family, kind in (("revision_app_request_count", "unknown"), ("revision_app_request_latencies", "histogram"),
                         ("model_quality", "gauge"), ("container_cpu_usage_seconds_total", "unknown"),
                         ("container_memory_working_set_bytes", "gauge"),
                         *((name, "gauge") for name in AUTOSCALER_GAUGES)):
        if families[family]:
            out += [f"# TYPE {family} {kind}", *sorted(families[family], key=_series_then_time)]
    return "\n".join([*out, "# EOF", ""])


def _series_then_time(line: str) -> tuple[str, int]:
    series, _, rest = line.rpartition("} ")
    return series, int(rest.split()[1])
