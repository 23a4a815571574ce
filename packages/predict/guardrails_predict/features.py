"""Feature vectors shared by training (from the trace) and prediction (from a declaration).

One schema for the three workload targets so contributions always name the same features. A target's own
hint is always blank (NaN) for its model: a declared value replaces the prediction instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

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
    """One row of `workload_features` (the scalar form, kept as the reference the matrix is tested against)."""
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


_TRIGGER_SLICE = slice(1, 1 + len(TRIGGER_COLUMNS))
_TRIGGER_COLUMN = {t: 1 + i for i, t in enumerate(TRIGGER_COLUMNS)}
REQUESTS_HINT = WORKLOAD_FEATURES.index("declared_requests_log10")
LATENCY_HINT = WORKLOAD_FEATURES.index("declared_p50_latency_log10")


def workload_features(rows: list[WorkloadInputs]) -> np.ndarray:
    """(n, features) with every hint as declared: `workload_row` for all rows at once, column by column (one
    `math.log` per value, as the row form, so the two are bit-identical)."""
    matrix = np.full((len(rows), len(WORKLOAD_FEATURES)), np.nan)
    if not rows:
        return matrix
    matrix[:, 0] = [_log(r.memory_mb, 2) for r in rows]
    matrix[:, REQUESTS_HINT] = [_log(r.declared_requests_per_month, 10) for r in rows]
    matrix[:, LATENCY_HINT] = [_log(r.declared_p50_latency_ms, 10) for r in rows]
    known = [i for i, r in enumerate(rows) if r.trigger is not None]
    matrix[known, _TRIGGER_SLICE] = 0.0
    matrix[known, [_TRIGGER_COLUMN.get(rows[i].trigger, _TRIGGER_COLUMN["other"]) for i in known]] = 1.0  # type: ignore[arg-type]
    return matrix


def for_target(features: np.ndarray, target_index: int) -> np.ndarray:
    """A copy of `workload_features` as the target's model reads it (its own hint blank)."""
    matrix = features.copy()
    if target_index in OWN_HINT:
        matrix[:, OWN_HINT[target_index]] = np.nan
    return matrix


def workload_matrix(rows: list[WorkloadInputs], target_index: int) -> np.ndarray:
    return for_target(workload_features(rows), target_index)


def with_requests_hint(matrix: np.ndarray, requests_log10: np.ndarray) -> np.ndarray:
    """A copy of `matrix` whose requests hint is 10**requests_log10 per row (the burstiness chain's link), the
    same value as declaring that many requests: `_log(float(10 ** v), 10)`."""
    out = matrix.copy()
    out[:, REQUESTS_HINT] = [_log(float(10 ** v), 10) for v in requests_log10]
    return out


def peak_concurrency(requests_per_month: float, mean_duration_ms: float, burstiness: float) -> float:
    """Little's law on the busiest minute: (monthly/minutes in month) x burstiness / 60 s x duration (s)."""
    per_minute = requests_per_month / (730 * 60)
    return per_minute * burstiness / 60.0 * mean_duration_ms / 1000.0


def capacity_row(capacity: float, peak_p10: float, peak_p50: float, peak_p90: float) -> list[float]:
    floor = 1e-6  # a service predicted to be idle still gets a finite log
    cap, p10, p50, p90 = (math.log10(max(v, floor)) for v in (capacity, peak_p10, peak_p50, peak_p90))
    return [cap, p10, p50, p90, cap - p50]


BURST_TARGET = 2
HINT_VARIANTS: dict[tuple[bool, bool], str] = {(False, False): "none", (True, False): "requests",
                                               (False, True): "latency", (True, True): "both"}
# The hint variants in which each target is predicted at all (a declared quantity replaces its own model).
PREDICTED_IN: dict[int, tuple[str, ...]] = {0: ("none", "latency"), 1: ("none", "requests"),
                                            2: ("none", "requests", "latency", "both")}


def hint_variant(inputs: WorkloadInputs) -> str:
    return HINT_VARIANTS[(inputs.declared_requests_per_month is not None, inputs.declared_p50_latency_ms is not None)]


@dataclass(frozen=True)
class WorkloadPolicy:
    """Per target: the hint variants where the model beat its baseline (interval excluding zero), and the
    baseline's unconditional log10 quantiles used everywhere else. `None` policy = always the model."""

    model_variants: dict[int, frozenset[str]]
    baseline_log10: dict[int, tuple[float, float, float]]

    def uses_model(self, target: int, variant: str) -> bool:
        return variant in self.model_variants.get(target, frozenset())


def declared_band(value: float, uncertainty: float) -> np.ndarray:
    """A declared value as log10 (P10, P50, P90): value x (1 - u), value, value x (1 + u)."""
    return np.log10([value * (1.0 - uncertainty), value, value * (1.0 + uncertainty)])


@dataclass(frozen=True)
class WorkloadQuantiles:
    """log10 (n, 3) quantiles per target, each row ascending, and per row where each came from."""

    log10: tuple[np.ndarray, np.ndarray, np.ndarray]
    sources: tuple[list[str], list[str], list[str]]  # "declared" | "model" | "baseline" per row and target
    raw_crossings: int  # rows x targets whose model output crossed before the monotone rearrangement


def workload_quantiles(predict: Callable[[int, np.ndarray], np.ndarray], inputs: list[WorkloadInputs],
                       policy: WorkloadPolicy | None = None, declared_uncertainty: float = 0.0) -> WorkloadQuantiles:
    """The one computation of the workload quantiles, used by preview and by training's held-out evaluation.

    `predict(target, matrix)` returns the model's raw (n, 3) log10 outputs. Ordering is enforced by monotone
    rearrangement (Chernozhukov, Fernandez-Val & Galichon 2010): each row's three outputs are sorted, which
    never increases the pinball loss. Burstiness is chained on the requests quantiles (see
    `burstiness_given_requests`), then rearranged again, because a higher request volume means a *lower*
    burstiness and the chained column order alone does not keep P10 <= P50 <= P90.
    """
    n = len(inputs)
    variants = [hint_variant(i) for i in inputs]
    crossings = 0
    out: list[np.ndarray] = []
    sources: list[list[str]] = []
    declared = (lambda i: i.declared_requests_per_month, lambda i: i.declared_p50_latency_ms)
    features = workload_features(inputs)
    for target in (0, 1):
        raw = predict(target, for_target(features, target)) if n else np.empty((0, 3))
        crossings += int(np.sum(np.any(np.diff(raw, axis=1) < 0, axis=1)))
        values, src = np.sort(raw, axis=1), []
        for i, inp in enumerate(inputs):
            value = declared[target](inp)
            if value is not None:
                values[i], kind = declared_band(value, declared_uncertainty), "declared"
            elif policy is not None and not policy.uses_model(target, variants[i]):
                values[i], kind = policy.baseline_log10[target], "baseline"
            else:
                kind = "model"
            src.append(kind)
        out.append(values)
        sources.append(src)

    def predict_burst(matrix: np.ndarray) -> np.ndarray:
        return np.sort(predict(BURST_TARGET, matrix), axis=1)

    burst = (burstiness_given_requests(predict_burst, for_target(features, BURST_TARGET), out[0]) if n
             else np.empty((0, 3)))
    crossings += int(np.sum(np.any(np.diff(burst, axis=1) < 0, axis=1)))
    burst = np.sort(burst, axis=1)
    burst_src = []
    for i in range(n):
        if policy is not None and not policy.uses_model(BURST_TARGET, variants[i]):
            burst[i], kind = policy.baseline_log10[BURST_TARGET], "baseline"
        else:
            kind = "model"
        burst_src.append(kind)
    return WorkloadQuantiles((out[0], out[1], burst), (sources[0], sources[1], burst_src), crossings)


def burstiness_given_requests(predict_burst: Callable[[np.ndarray], np.ndarray], burst_matrix: np.ndarray,
                              requests_log10: np.ndarray) -> np.ndarray:
    """Burstiness quantile q conditioned on requests quantile q (a chain, not independent draws).

    Burstiness falls steeply with volume (corr -0.82 in the trace): pairing the P90 request volume with the
    unconditional P90 burstiness would describe a service that cannot exist. `predict_burst` maps a workload
    matrix to sorted (n, 3) log10 quantiles; column j of the result uses the requests hint 10**requests[:, j].
    `burst_matrix` is the burstiness model's matrix of the inputs (`for_target(..., BURST_TARGET)`).
    The result's rows are NOT necessarily ascending; `workload_quantiles` rearranges them.
    """
    n, links = requests_log10.shape
    # One prediction over the three chained matrices stacked (prediction is per row, so this is the same as
    # three calls, at a third of XGBoost's per-call cost).
    stacked = np.vstack([with_requests_hint(burst_matrix, requests_log10[:, j]) for j in range(links)])
    predicted = predict_burst(stacked)
    out = np.empty_like(requests_log10, dtype=np.float64)
    for j in range(links):
        out[:, j] = predicted[j * n:(j + 1) * n, j]
    return out
