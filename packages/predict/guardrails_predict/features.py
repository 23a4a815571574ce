"""Feature vectors shared by training (from the trace) and prediction (from a declaration).

One schema for the three workload targets so contributions always name the same features. A target's own
hint is always blank (NaN) for its model: a declared value replaces the prediction instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

TRIGGER_COLUMNS = ("http", "queue", "event", "timer", "storage", "other")
WORKLOAD_FEATURES: tuple[str, ...] = (
    "memory_mb_log2",
    *(f"trigger_{t}" for t in TRIGGER_COLUMNS),
    "declared_requests_log10",
    "declared_p50_latency_log10",
)
WORKLOAD_TARGETS: tuple[str, ...] = ("requests_per_month_log10", "mean_duration_ms_log10", "burstiness_log10")
QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)
# Which hint column is the target itself (blanked for that model); burstiness has no declarable hint.
OWN_HINT = {0: WORKLOAD_FEATURES.index("declared_requests_log10"),
            1: WORKLOAD_FEATURES.index("declared_p50_latency_log10")}

CAPACITY_FEATURES: tuple[str, ...] = (
    "capacity_log10",
    "predicted_peak_concurrency_p10_log10",
    "predicted_peak_concurrency_p50_log10",
    "predicted_peak_concurrency_p90_log10",
    "headroom_log10",  # capacity vs predicted P50 peak
)


@dataclass(frozen=True)
class WorkloadInputs:
    """What a declaration (or a trace row) tells the workload model."""

    memory_mb: float | None
    trigger: str | None
    declared_requests_per_month: float | None = None
    declared_p50_latency_ms: float | None = None


def _log(value: float | None, base: float) -> float:
    if value is None or value <= 0:
        return math.nan
    return math.log(value, base)


def workload_row(inputs: WorkloadInputs) -> list[float]:
    trigger = inputs.trigger
    if trigger is not None and trigger not in TRIGGER_COLUMNS:
        trigger = "other"
    one_hot = [math.nan] * len(TRIGGER_COLUMNS) if trigger is None else [
        1.0 if t == trigger else 0.0 for t in TRIGGER_COLUMNS
    ]
    return [
        _log(inputs.memory_mb, 2),
        *one_hot,
        _log(inputs.declared_requests_per_month, 10),
        _log(inputs.declared_p50_latency_ms, 10),
    ]


def workload_matrix(rows: list[WorkloadInputs], target_index: int) -> np.ndarray:
    matrix = np.array([workload_row(r) for r in rows], dtype=np.float64).reshape(len(rows), len(WORKLOAD_FEATURES))
    if target_index in OWN_HINT:
        matrix[:, OWN_HINT[target_index]] = np.nan
    return matrix


def peak_concurrency(requests_per_month: float, mean_duration_ms: float, burstiness: float) -> float:
    """Little's law on the busiest minute: (monthly/minutes in month) x burstiness / 60 s x duration (s)."""
    per_minute = requests_per_month / (730 * 60)
    return per_minute * burstiness / 60.0 * mean_duration_ms / 1000.0


def capacity_row(capacity: float, peak_p10: float, peak_p50: float, peak_p90: float) -> list[float]:
    floor = 1e-6  # a service predicted to be idle still gets a finite log
    cap, p10, p50, p90 = (math.log10(max(v, floor)) for v in (capacity, peak_p10, peak_p50, peak_p90))
    return [cap, p10, p50, p90, cap - p50]


BURST_TARGET = 2


def burstiness_given_requests(predict_burst: Callable[[np.ndarray], np.ndarray], inputs: list[WorkloadInputs],
                              requests_log10: np.ndarray) -> np.ndarray:
    """Burstiness quantile q conditioned on requests quantile q (a chain, not independent draws).

    Burstiness falls steeply with volume (corr -0.82 in the trace): pairing the P90 request volume with the
    unconditional P90 burstiness would describe a service that cannot exist. `predict_burst` maps a workload
    matrix to sorted (n, 3) log10 quantiles; column j of the result uses the requests hint 10**requests[:, j].
    """
    out = np.empty_like(requests_log10, dtype=np.float64)
    for j in range(requests_log10.shape[1]):
        rows = [replace(inp, declared_requests_per_month=float(10 ** requests_log10[i, j]))
                for i, inp in enumerate(inputs)]
        out[:, j] = predict_burst(workload_matrix(rows, BURST_TARGET))[:, j]
    return out
