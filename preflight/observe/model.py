"""What was observed about one running service: every number says where it came from (the query, the window).

The contract between the metric sources (`prometheus.py` for Knative's queue-proxy metrics, `cloudwatch.py`
for `AWS/Lambda`) and their users (usage history for the predictions, anomalies, idle detection, rightsizing,
rollout decisions). A metric that could not be read is a `Measurement` with `value=None` and the reason:
never a zero, because zero traffic is itself a finding (idle) and must not be confused with "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Source = Literal["prometheus", "cloudwatch"]


@dataclass(frozen=True)
class Window:
    start: datetime  # timezone-aware UTC
    end: datetime
    step_seconds: int  # resolution of the series below (3600 for hourly)

    def label(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


@dataclass(frozen=True)
class Measurement:
    """One figure with its provenance. `value is None` means missing (see `missing_reason`), never zero."""

    value: float | None
    unit: str  # "requests/hour", "ratio", "ms", "concurrent", "%"
    source: Source
    query: str  # the PromQL expression, or the GetMetricData query as compact JSON
    window: Window
    missing_reason: str | None = None

    @property
    def missing(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class Series:
    """A regular series over `window` (one value per `window.step_seconds`); None where no sample exists."""

    values: tuple[float | None, ...]
    unit: str
    source: Source
    query: str
    window: Window


@dataclass(frozen=True)
class ObservedTarget:
    """One thing that serves traffic: a Knative revision, or a Lambda function version/alias."""

    name: str  # Knative revision name (`<service>-00002`) or Lambda qualifier (`$LATEST`, alias name)
    requests_per_hour: Measurement
    error_rate: Measurement  # 5xx (Knative) / Errors (Lambda) over requests
    latency_p50_ms: Measurement
    latency_p95_ms: Measurement
    latency_p99_ms: Measurement
    requests: Measurement  # total count in the window (for minimum-sample rules)
    errors: Measurement  # total count in the window


@dataclass(frozen=True)
class ObservedService:
    name: str  # the declaration's metadata.name
    kind: Literal["knative", "lambda"]
    declaration: str  # project-relative path of the declaration file
    window: Window
    requests_per_hour: Measurement
    error_rate: Measurement
    latency_p50_ms: Measurement  # Knative request latency; Lambda Duration p50
    latency_p99_ms: Measurement
    peak_concurrency: Measurement
    # Lambda: mean Duration; Knative: mean request latency
    duration_mean_ms: Measurement | None = None
    # Lambda only (None for Knative): throttles, provisioned-concurrency utilisation
    throttles: Measurement | None = None
    provisioned_concurrency_utilisation: Measurement | None = None  # peak (hourly Maximum)
    provisioned_concurrency_utilisation_mean: Measurement | None = None  # mean of the hourly Average
    # Knative only (None for Lambda), for rightsizing: busiest pod's P99 CPU and memory working set, its max
    # memory, the P99 of requests in flight (whole service)
    cpu_p99_millicores: Measurement | None = None
    memory_p99_mib: Measurement | None = None
    memory_max_mib: Measurement | None = None
    concurrency_p99: Measurement | None = None
    # Knative only, from the autoscaler and queue-proxy, for the target: requests in flight per pod (P99, P50 of
    # the minutes), the autoscaler's target per pod, the busiest pod's queue depth P99, panic mode (max)
    pod_concurrency_p99: Measurement | None = None
    cpu_p50_millicores: Measurement | None = None  # the busiest pod's median CPU and memory (the P50 load point)
    memory_p50_mib: Measurement | None = None
    pod_concurrency_p50: Measurement | None = None
    autoscaler_target_per_pod: Measurement | None = None
    queue_depth_p99: Measurement | None = None
    panic_max: Measurement | None = None
    # hourly series for seasonality/anomalies: "requests", "duration_ms" (Lambda), "latency_p50_ms" (Knative)
    hourly: dict[str, Series] = field(default_factory=dict)
    # per revision (Knative) or alias/version (Lambda) carrying traffic, for rollouts
    targets: dict[str, ObservedTarget] = field(default_factory=dict)
