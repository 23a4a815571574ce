"""Deterministic training of the workload (quantile), capacity-risk and change-risk models.

Determinism: fixed seed, fixed `nthread`, rows sorted by function id, no subsampling, fixed bootstrap seed;
the same inputs give byte-identical `.ubj` files (tested). Functions sharing an identical per-minute series
are de-duplicated before anything else. Hyper-parameters are chosen by 5-fold cross-validation *inside* the
training split (grouped by function); the held-out 25% of functions (chosen by a hash of the id) is only
used for the reported metrics, the baseline-fallback decisions (95% bootstrap intervals) and the measured
coverage of the cost bands, whose scales are calibrated out of fold on the training functions.
"""

from __future__ import annotations

import hashlib
import math
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from guardrails_predict.change_risk import CHANGE_FEATURES, load_change_history, synthetic_change_set
from guardrails_predict.features import (
    CAPACITY_FEATURES,
    HINT_VARIANTS,
    PREDICTED_IN,
    QUANTILES,
    WORKLOAD_FEATURES,
    WORKLOAD_TARGETS,
    WorkloadInputs,
    WorkloadPolicy,
    capacity_row,
    peak_concurrency,
    workload_matrix,
    workload_quantiles,
)
from guardrails_predict.metrics import (
    bootstrap_grouped_ci,
    bootstrap_mean_ci,
    brier_score,
    interval,
    interval_coverage,
    pinball_loss,
    pinball_rows,
    roc_auc,
)
from guardrails_predict.model_store import merge_metrics, write_manifest_section, write_model
from guardrails_predict.pricing import LambdaConfig, LambdaUsage, lambda_monthly_cost
from guardrails_predict.resources import PredictionInputError
from guardrails_predict.trace import FunctionTrace, load_trace
from guardrails_predict.usage_history import ObservedHistory

DEFAULT_SEED = 7
DEFAULT_NTHREAD = 1  # >1 thread spins badly on a shared CI box and buys nothing at this size
HELD_OUT_SHARE = 64 / 256  # functions whose sha256(id)[0] < 64 are held out (~25%)
CV_FOLDS = 5
WORKLOAD_GRID: tuple[tuple[int, int], ...] = ((2, 50), (3, 100), (2, 150))  # (max_depth, rounds), eta 0.1
WORKLOAD_ETA = 0.1
CAPACITY_GRID_LOG10 = tuple(np.arange(0.0, 3.51, 0.5))  # declared capacities 1 .. ~3162 concurrent requests
WORKLOAD_MODEL_NAMES = ("workload-requests", "workload-duration", "workload-burstiness")
TRACE_SOURCE = ("Azure Functions Trace 2019 (CC-BY 4.0, Shahrad et al., USENIX ATC 2020), vHive loader samples "
                "(see the trace folder's PROVENANCE.md)")


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def is_held_out(function_id: str) -> bool:
    return _digest(function_id)[0] < int(HELD_OUT_SHARE * 256)


def fold_of(function_id: str) -> int:
    return _digest(function_id)[1] % CV_FOLDS


def targets_of(fn: FunctionTrace) -> np.ndarray:
    return np.log10([fn.monthly_invocations, fn.mean_duration_ms, fn.burstiness])


def hint_variants(fn: FunctionTrace, variants: Sequence[tuple[bool, bool]]) -> list[WorkloadInputs]:
    """The same function seen with no hints, one hint or both (declared values taken from the trace)."""
    return [
        WorkloadInputs(
            memory_mb=fn.memory_mb,
            trigger=fn.trigger,
            declared_requests_per_month=fn.monthly_invocations if req else None,
            declared_p50_latency_ms=fn.mean_duration_ms if lat else None,
        )
        for req, lat in variants
    ]


ALL_VARIANTS = ((False, False), (True, False), (False, True), (True, True))
NO_HINTS = ((False, False),)
BOTH_HINTS = ((True, True),)


def workload_set(functions: Sequence[FunctionTrace], target: int,
                 variants: Sequence[tuple[bool, bool]] = ALL_VARIANTS) -> tuple[np.ndarray, np.ndarray]:
    inputs = [row for fn in functions for row in hint_variants(fn, variants)]
    y = np.array([targets_of(fn)[target] for fn in functions for _ in variants])
    return workload_matrix(inputs, target), y


def _params(seed: int, nthread: int, **extra: Any) -> dict[str, Any]:
    return {"tree_method": "hist", "seed": seed, "nthread": nthread, "max_bin": 64, **extra}


def fit_quantile(x: np.ndarray, y: np.ndarray, depth: int, rounds: int, seed: int, nthread: int) -> xgb.Booster:
    params = _params(seed, nthread, objective="reg:quantileerror", quantile_alpha=list(QUANTILES),
                     eta=WORKLOAD_ETA, max_depth=depth, min_child_weight=10, reg_lambda=5.0)
    return xgb.train(params, xgb.DMatrix(x, label=y, feature_names=list(WORKLOAD_FEATURES)), rounds)


def predict_sorted(booster: xgb.Booster, x: np.ndarray) -> np.ndarray:
    # Quantile crossing can occur with one model per quantile set; sorting restores P10 <= P50 <= P90.
    return np.sort(booster.predict(xgb.DMatrix(x, feature_names=list(WORKLOAD_FEATURES))), axis=1)


_CHOICE_CACHE: dict[tuple[Any, ...], tuple[tuple[int, int], dict[str, float]]] = {}


def _choose_workload_params(train: Sequence[FunctionTrace], target: int, seed: int,
                            nthread: int) -> tuple[tuple[int, int], dict[str, float]]:
    key = (tuple(f.function_id for f in train), target, seed, nthread)
    if key not in _CHOICE_CACHE:  # `train all` would otherwise repeat the search for the capacity model
        _CHOICE_CACHE[key] = _search_workload_params(train, target, seed, nthread)
    return _CHOICE_CACHE[key]


def _search_workload_params(train: Sequence[FunctionTrace], target: int, seed: int,
                            nthread: int) -> tuple[tuple[int, int], dict[str, float]]:
    scores: dict[str, float] = {}
    for depth, rounds in WORKLOAD_GRID:
        losses = []
        for k in range(CV_FOLDS):
            fit_fns = [f for f in train if fold_of(f.function_id) != k]
            val_fns = [f for f in train if fold_of(f.function_id) == k]
            if not fit_fns or not val_fns:
                continue
            model = fit_quantile(*workload_set(fit_fns, target), depth, rounds, seed, nthread)
            x_val, y_val = workload_set(val_fns, target)
            losses.append(pinball_loss(y_val, predict_sorted(model, x_val), QUANTILES))
        scores[f"depth{depth}_rounds{rounds}"] = float(np.mean(losses)) if losses else float("inf")
    best = min(WORKLOAD_GRID, key=lambda g: scores[f"depth{g[0]}_rounds{g[1]}"])
    return best, scores


def fit_workload_models(functions: Sequence[FunctionTrace], params: dict[int, tuple[int, int]], seed: int,
                        nthread: int) -> dict[int, xgb.Booster]:
    return {t: fit_quantile(*workload_set(functions, t), *params[t], seed, nthread) for t in range(3)}


def predictor(models: dict[int, xgb.Booster]) -> Callable[[int, np.ndarray], np.ndarray]:
    return lambda target, matrix: models[target].predict(xgb.DMatrix(matrix, feature_names=list(WORKLOAD_FEATURES)))


def baseline_log10(functions: Sequence[FunctionTrace]) -> dict[int, tuple[float, float, float]]:
    """The unconditional baseline: each target's training quantiles, whatever the declaration says."""
    y = np.array([targets_of(f) for f in functions])
    return {t: tuple(float(v) for v in np.quantile(y[:, t], QUANTILES)) for t in range(3)}  # type: ignore[misc]


def _variant_rows(functions: Sequence[FunctionTrace], variants: Sequence[tuple[bool, bool]]
                  ) -> tuple[list[WorkloadInputs], list[int], list[str]]:
    """Inputs for every (function, variant), with the function index and the variant name of each row."""
    inputs, owner, names = [], [], []
    for i, fn in enumerate(functions):
        for variant, row in zip(variants, hint_variants(fn, variants), strict=True):
            inputs.append(row)
            owner.append(i)
            names.append(HINT_VARIANTS[variant])
    return inputs, owner, names


def _held_out_workload(models: dict[int, xgb.Booster], train: Sequence[FunctionTrace],
                       test: Sequence[FunctionTrace]) -> tuple[dict[str, Any], dict[int, frozenset[str]], int]:
    """Every (target, hint variant) slice the product predicts, scored exactly as preview computes it.

    Returns the report, the variants where the model beats the baseline (95 % bootstrap interval of the
    per-function pinball difference entirely below zero), and the quantile crossings before rearrangement."""
    inputs, owner, names = _variant_rows(test, ALL_VARIANTS)
    wq = workload_quantiles(predictor(models), inputs)
    base = baseline_log10(train)
    truth = np.array([targets_of(test[i]) for i in owner])
    report: dict[str, Any] = {}
    model_variants: dict[int, frozenset[str]] = {}
    for target in range(3):
        slices, beats = {}, set()
        for variant in PREDICTED_IN[target]:
            rows = np.array([i for i, n in enumerate(names) if n == variant])
            y, pred = truth[rows, target], wq.log10[target][rows]
            model_loss = pinball_rows(y, pred, QUANTILES)
            base_loss = pinball_rows(y, np.tile(base[target], (len(rows), 1)), QUANTILES)
            diff = bootstrap_mean_ci(model_loss - base_loss)
            wins = diff[2] < 0
            if wins:
                beats.add(variant)
            slices[variant] = {
                "pinball_loss_model": round(float(model_loss.mean()), 5),
                "pinball_loss_unconditional_baseline": round(float(base_loss.mean()), 5),
                "difference_model_minus_baseline": interval(*diff, digits=5),
                "beats_baseline": bool(wins),
                "used_at_preview": "model" if wins else "baseline",
                "coverage_p10_p90": round(interval_coverage(y, pred[:, 0], pred[:, 2]), 4),
                "rows": len(rows),
            }
        report[WORKLOAD_TARGETS[target]] = slices
        model_variants[target] = frozenset(beats)
    return report, model_variants, wq.raw_crossings


# ------------------------------------------------------------------ cost bands

COST_VARIANTS = ("none", "requests", "latency")  # with both declared the band is the declared uncertainty's
COST_COVERAGE_TARGET = 0.8
REFERENCE_REGION = "us-east-1"


def reference_cost(requests: float, duration_ms: float, memory_mb: float) -> float:
    """Monthly USD of a trace function priced as an x86_64 Lambda in us-east-1 with its own memory."""
    memory = int(min(10240, max(128, round(memory_mb))))
    usage = LambdaUsage(Decimal(str(round(requests))), Decimal(str(round(duration_ms, 3))))
    return float(lambda_monthly_cost(usage, LambdaConfig(memory, "x86_64", REFERENCE_REGION)).total)


def _cost_log_rows(models: dict[int, xgb.Booster], policy: WorkloadPolicy, functions: Sequence[FunctionTrace]
                   ) -> dict[str, dict[str, np.ndarray]]:
    """Per hint variant: log10 cost at the comonotone P10/P50/P90 workload points and log10 true cost."""
    variants = [v for v, name in HINT_VARIANTS.items() if name in COST_VARIANTS]
    inputs, owner, names = _variant_rows(functions, variants)
    wq = workload_quantiles(predictor(models), inputs, policy)
    out: dict[str, dict[str, list[Any]]] = {v: {"band": [], "truth": [], "owner": []} for v in COST_VARIANTS}
    for row, (i, name) in enumerate(zip(owner, names, strict=True)):
        fn = functions[i]
        band = [reference_cost(10 ** wq.log10[0][row, q], 10 ** wq.log10[1][row, q], fn.memory_mb) for q in range(3)]
        out[name]["band"].append(np.log10(np.maximum(band, 1e-9)))
        out[name]["truth"].append(math.log10(max(reference_cost(fn.monthly_invocations, fn.mean_duration_ms,
                                                                fn.memory_mb), 1e-9)))
        out[name]["owner"].append(i)
    return {v: {k: np.array(values) for k, values in d.items()} for v, d in out.items()}


def conformal_scale(band_log10: np.ndarray, truth_log10: np.ndarray, coverage: float = COST_COVERAGE_TARGET) -> float:
    """Split-conformal scale s: [P50 - s (P50 - P10), P50 + s (P90 - P50)] (log space) covers `coverage`.

    The score of a calibration row is its distance from P50 in units of the band's half on that side; s is
    the ceil((n + 1) coverage)-th smallest score (Lei et al. 2018, normalised residuals)."""
    low, mid, high = band_log10[:, 0], band_log10[:, 1], band_log10[:, 2]
    eps = 1e-9
    score = np.where(truth_log10 < mid, (mid - truth_log10) / np.maximum(mid - low, eps),
                     (truth_log10 - mid) / np.maximum(high - mid, eps))
    k = min(len(score), math.ceil((len(score) + 1) * coverage))
    return float(np.sort(score)[k - 1])


def scaled_band(band_log10: np.ndarray, scale: float) -> np.ndarray:
    mid = band_log10[:, 1]
    return np.column_stack([mid - scale * (mid - band_log10[:, 0]), mid, mid + scale * (band_log10[:, 2] - mid)])


def calibrate_cost_bands(data: TrainingData, params: dict[int, tuple[int, int]], model_variants: dict[int, frozenset],
                         test_models: dict[int, xgb.Booster], seed: int, nthread: int) -> dict[str, Any]:
    """Scales from out-of-fold predictions on the training functions; coverage measured on held-out ones."""
    oof: dict[str, list[dict[str, np.ndarray]]] = {v: [] for v in COST_VARIANTS}
    for k in range(CV_FOLDS):
        fit_fns = [f for f in data.train if fold_of(f.function_id) != k]
        val_fns = [f for f in data.train if fold_of(f.function_id) == k]
        if not fit_fns or not val_fns:
            continue
        policy = WorkloadPolicy(model_variants, baseline_log10(fit_fns))
        rows = _cost_log_rows(fit_workload_models(fit_fns, params, seed, nthread), policy, val_fns)
        for v in COST_VARIANTS:
            oof[v].append(rows[v])
    test_rows = _cost_log_rows(test_models, WorkloadPolicy(model_variants, baseline_log10(data.train)), data.test)
    scales: dict[str, float] = {}
    report: dict[str, Any] = {}
    for v in COST_VARIANTS:
        band = np.vstack([r["band"] for r in oof[v]])
        truth = np.concatenate([r["truth"] for r in oof[v]])
        scales[v] = round(conformal_scale(band, truth), 4)
        t_band, t_truth = test_rows[v]["band"], test_rows[v]["truth"]
        calibrated = scaled_band(t_band, scales[v])
        inside = ((t_truth >= calibrated[:, 0]) & (t_truth <= calibrated[:, 2])).astype(float)
        inside_raw = ((t_truth >= t_band[:, 0]) & (t_truth <= t_band[:, 2])).astype(float)
        report[v] = {
            "scale": scales[v], "calibration_rows_out_of_fold": len(truth), "held_out_rows": len(t_truth),
            "coverage_p10_p90_calibrated": interval(*bootstrap_mean_ci(inside)),
            "coverage_p10_p90_comonotone_uncalibrated": interval(*bootstrap_mean_ci(inside_raw)),
            "median_p90_over_p10_calibrated": round(float(np.median(10 ** (calibrated[:, 2] - calibrated[:, 0]))), 2),
            "median_p90_over_p10_uncalibrated": round(float(np.median(10 ** (t_band[:, 2] - t_band[:, 0]))), 2),
        }
    return {"scales": scales, "held_out": report}


# ------------------------------------------------------------------ workload


_POLICY_CACHE: dict[tuple[Any, ...], dict[str, Any]] = {}


def evaluate_workload(data: TrainingData, seed: int, nthread: int) -> dict[str, Any]:
    """Parameter search, held-out slices, fallback decisions and cost calibration (cached per split)."""
    key = (tuple(f.function_id for f in data.train), tuple(f.function_id for f in data.test), seed, nthread)
    if key not in _POLICY_CACHE:
        choices = {t: _choose_workload_params(data.train, t, seed, nthread) for t in range(3)}
        params = {t: choices[t][0] for t in range(3)}
        test_models = fit_workload_models(data.train, params, seed, nthread)
        report, model_variants, crossings = _held_out_workload(test_models, data.train, data.test)
        cost = calibrate_cost_bands(data, params, model_variants, test_models, seed, nthread)
        _POLICY_CACHE[key] = {"choices": choices, "params": params, "report": report,
                              "model_variants": model_variants, "crossings": crossings, "cost": cost}
    return _POLICY_CACHE[key]


@dataclass(frozen=True)
class TrainingData:
    train: list[FunctionTrace]
    test: list[FunctionTrace]
    duplicates_removed: int = 0


MIN_TRIGGER_SHARE = 0.5


def usable_triggers(functions: Sequence[FunctionTrace]) -> list[FunctionTrace]:
    """Blank the trigger unless most functions have one.

    In the vHive samples only the 10-function file keeps the Trigger column, and those 10 were picked for
    volume (27k-6.2M invocations a day vs a median of 93 in the 400-function file). Learning from them would
    teach "trigger known => busy", and every Knative service (trigger http) would inherit it.
    """
    share = sum(f.trigger is not None for f in functions) / max(1, len(functions))
    if share >= MIN_TRIGGER_SHARE:
        return list(functions)
    return [replace(f, trigger=None) for f in functions]


def series_key(fn: FunctionTrace) -> str:
    return hashlib.sha256(np.ascontiguousarray(fn.per_minute, dtype=np.float64).tobytes()).hexdigest()


def deduplicate_series(functions: Sequence[FunctionTrace]) -> list[FunctionTrace]:
    """Keep the first function (by id) of every identical per-minute series.

    The vHive sampler reused series: 212 of the 410 trace functions share their exact 1440-minute series with
    another function (with a different duration/memory). A copy on each side of the split leaks the requests
    and burstiness targets into the held-out score, and 20+ copies of one series would dominate training."""
    seen: set[str] = set()
    out = []
    for fn in sorted(functions, key=lambda f: f.function_id):
        key = series_key(fn)
        if key not in seen:
            seen.add(key)
            out.append(fn)
    return out


@dataclass(frozen=True)
class ObservedFunction(FunctionTrace):
    """A service's observed usage history as one training row, like one trace function: its median day
    (requests, mean duration and burstiness: `usage_history.load_usage_history`'s P50s), its declared memory and
    trigger. It has no per-minute series (`per_minute` is empty): it joins after the trace's de-duplication."""

    observed_daily_invocations: float = 0.0
    observed_burstiness: float = 1.0

    @property
    def daily_invocations(self) -> float:
        return self.observed_daily_invocations

    @property
    def burstiness(self) -> float:
        return self.observed_burstiness


def observed_functions(histories: Sequence[ObservedHistory]) -> list[ObservedFunction]:
    """One training row per observed service (id `observed:<service>`; the split hashes it like a trace id)."""
    rows: dict[str, ObservedFunction] = {}
    for h in histories:
        fid = f"observed:{h.service}"
        if fid in rows:
            raise PredictionInputError(f"{h.path}: service {h.service!r} is also in another --history file; "
                                       "give each service once")
        rows[fid] = ObservedFunction(
            function_id=fid, trigger=h.trigger, memory_mb=h.memory_mb, mean_duration_ms=h.history.mean_duration_ms[1],
            per_minute=np.zeros(0), observed_daily_invocations=h.history.requests_per_month[1] * 24 / 730,
            observed_burstiness=h.history.burstiness[1])
    return [rows[k] for k in sorted(rows)]


def split_trace(trace: Path, max_functions: int | None = None,
                extra: Sequence[FunctionTrace] = ()) -> TrainingData:
    functions = load_trace(trace)
    if max_functions is not None:
        functions = functions[:max_functions]
    # Observed rows have no per-minute series to compare: they join after the de-duplication of the trace.
    unique = usable_triggers(sorted([*deduplicate_series(functions), *extra], key=lambda f: f.function_id))
    train = [f for f in unique if not is_held_out(f.function_id)]
    test = [f for f in unique if is_held_out(f.function_id)]
    if len(train) < 10 or not test:
        raise ValueError(f"{trace}: need at least 10 training and 1 held-out function (got {len(train)}/{len(test)})")
    return TrainingData(train, test, len(functions) - len(unique))


def train_workload(trace: Path, out_dir: Path, seed: int = DEFAULT_SEED, nthread: int = DEFAULT_NTHREAD,
                   max_functions: int | None = None, histories: Sequence[ObservedHistory] = ()) -> dict[str, Any]:
    """Train the workload models on the trace, plus one row per observed service in `histories`."""
    observed = observed_functions(histories)
    data = split_trace(trace, max_functions, observed)
    with_trigger = sum(f.trigger is not None for f in data.train + data.test)
    evaluation = evaluate_workload(data, seed, nthread)
    metrics: dict[str, Any] = {
        "data": TRACE_SOURCE, "train_functions": len(data.train), "functions_with_trigger_used": with_trigger,
        "held_out_functions": len(data.test), "duplicate_series_removed": data.duplicates_removed,
        "split": "identical per-minute series de-duplicated first, then by function (sha256 of id)",
        "interval": "95 % percentile bootstrap over held-out functions (2000 resamples)",
        "quantile_crossings_before_rearrangement": evaluation["crossings"],
        "seed": seed, "nthread": nthread, "targets": {}, "cost_band": evaluation["cost"]["held_out"],
    }
    everything = data.train + data.test
    final_baseline = baseline_log10(everything)
    for target, name in enumerate(WORKLOAD_MODEL_NAMES):
        (depth, rounds), cv = evaluation["choices"][target]
        # The shipped model is refit on train + held-out with the chosen parameters (more data, same recipe).
        final = fit_quantile(*workload_set(everything, target), depth, rounds, seed, nthread)
        write_model(out_dir, name, final, {
            "kind": "quantile", "target": WORKLOAD_TARGETS[target], "quantiles": list(QUANTILES),
            "features": list(WORKLOAD_FEATURES), "synthetic_training": False, "trained_on": TRACE_SOURCE,
            "params": {"max_depth": depth, "rounds": rounds, "eta": WORKLOAD_ETA, "seed": seed, "nthread": nthread},
            "model_variants": sorted(evaluation["model_variants"][target]),
            "baseline_log10": [round(v, 6) for v in final_baseline[target]],
        })
        metrics["targets"][WORKLOAD_TARGETS[target]] = {"chosen": {"max_depth": depth, "rounds": rounds},
                                                        "cv_pinball": cv,
                                                        "held_out": evaluation["report"][WORKLOAD_TARGETS[target]]}
    write_manifest_section(out_dir, "cost_band", {
        "method": "split-conformal scale of the comonotone band in log space, per hint variant "
                  "(training.calibrate_cost_bands)",
        "scales": evaluation["cost"]["scales"],
        "both_declared_scale": round(1 / math.sqrt(2), 4),
        "coverage_target": COST_COVERAGE_TARGET,
    })
    if histories:
        held = {f.function_id for f in data.test}
        metrics["data"] = f"{TRACE_SOURCE}; plus {len(observed)} observed service(s) (observed_history)"
        metrics["observed_history"] = {
            "services": len(observed), "functions": len(observed),
            "held_out": sorted(fid for fid in (f.function_id for f in observed) if fid in held),
            "kinds": sorted({h.kind for h in histories}),
            "dates": {"first": min(h.first_date for h in histories), "last": max(h.last_date for h in histories)},
            "files": [{"path": h.path, "sha256": h.sha256, "service": h.service, "kind": h.kind,
                       "days": h.history.days, "first_date": h.first_date, "last_date": h.last_date,
                       "window": h.window, "row": {"requests_per_month": round(h.history.requests_per_month[1], 3),
                                                   "mean_duration_ms": round(h.history.mean_duration_ms[1], 3),
                                                   "burstiness": round(h.history.burstiness[1], 4),
                                                   "memory_mb": h.memory_mb, "trigger": h.trigger}}
                      for h in sorted(histories, key=lambda h: h.service)],
            "row": "one per service: its median day (requests x 730/24, mean duration, burstiness), declared "
                   "memory and trigger; split like a trace function (sha256 of observed:<service>)",
        }
    metrics["not_beating_baseline"] = sorted(
        f"{target}/{variant}" for target, slices in (
            (t, metrics["targets"][t]["held_out"]) for t in metrics["targets"])
        for variant, row in slices.items() if not row["beats_baseline"])
    metrics["platform"] = platform.machine()
    merge_metrics(out_dir, "workload", metrics)
    return metrics


# ------------------------------------------------------------------ capacity risk


def _peak_quantiles(req: np.ndarray, dur: np.ndarray, burst: np.ndarray) -> np.ndarray:
    """Comonotone combination: the q-th peak uses the q-th quantile of each input (log10 in, linear out)."""
    return np.array([[peak_concurrency(10 ** req[i, j], 10 ** dur[i, j], 10 ** burst[i, j]) for j in range(3)]
                     for i in range(len(req))])


def _workload_quantiles(fit_fns: Sequence[FunctionTrace], pred_fns: Sequence[FunctionTrace],
                        variants: Sequence[tuple[bool, bool]], params: dict[int, tuple[int, int]],
                        model_variants: dict[int, frozenset[str]], seed: int, nthread: int) -> np.ndarray:
    """Peak-concurrency quantiles exactly as preview computes them (features.workload_quantiles)."""
    models = fit_workload_models(fit_fns, params, seed, nthread)
    inputs = [row for fn in pred_fns for row in hint_variants(fn, variants)]
    wq = workload_quantiles(predictor(models), inputs, WorkloadPolicy(model_variants, baseline_log10(fit_fns)))
    req, dur, burst = wq.log10
    return _peak_quantiles(req, dur, np.maximum(burst, 0.0))


def capacity_set(functions: Sequence[FunctionTrace], peaks: np.ndarray,
                 variants: Sequence[tuple[bool, bool]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows: one per (function, hint variant, declared capacity); label = trace peak exceeds capacity."""
    rows, labels, caps = [], [], []
    truth = [fn.peak_concurrency for fn in functions for _ in variants]
    for i, peak in enumerate(truth):
        for cap_log in CAPACITY_GRID_LOG10:
            cap = 10 ** cap_log
            rows.append(capacity_row(cap, *peaks[i]))
            labels.append(1.0 if peak > cap else 0.0)
            caps.append(cap_log)
    return np.array(rows), np.array(labels), np.array(caps)


CLASSIFIER_ROUNDS, CLASSIFIER_ETA = 100, 0.1  # fixed a priori; 100 trees keep exact SHAP fast at preview


def _classifier_params(seed: int) -> dict[str, Any]:
    return {"max_depth": 3, "rounds": CLASSIFIER_ROUNDS, "eta": CLASSIFIER_ETA, "seed": seed}


def fit_classifier(x: np.ndarray, y: np.ndarray, features: Sequence[str], seed: int, nthread: int,
                   rounds: int = CLASSIFIER_ROUNDS, depth: int = 3) -> xgb.Booster:
    params = _params(seed, nthread, objective="binary:logistic", eval_metric="logloss", eta=CLASSIFIER_ETA,
                     max_depth=depth, min_child_weight=5, reg_lambda=2.0)
    return xgb.train(params, xgb.DMatrix(x, label=y, feature_names=list(features)), rounds)


def _rate_by_bin(train_bins: np.ndarray, train_y: np.ndarray, test_bins: np.ndarray) -> np.ndarray:
    overall = float(train_y.mean())
    rates = {b: float(train_y[train_bins == b].mean()) for b in np.unique(train_bins)}
    return np.array([rates.get(b, overall) for b in test_bins])


def _classifier_slice(y: np.ndarray, prob: np.ndarray, baseline: np.ndarray, groups: np.ndarray,
                      seed: int) -> dict[str, Any]:
    """AUC and Brier of model vs baseline with grouped-bootstrap intervals of the differences."""
    auc = bootstrap_grouped_ci(groups, lambda r: roc_auc(y[r], prob[r]) - roc_auc(y[r], baseline[r]), seed=seed)
    brier = bootstrap_grouped_ci(groups, lambda r: brier_score(y[r], prob[r]) - brier_score(y[r], baseline[r]),
                                 seed=seed)
    return {
        "auc_model": round(roc_auc(y, prob), 4), "auc_baseline": round(roc_auc(y, baseline), 4),
        "auc_difference_model_minus_baseline": interval(*auc),
        "brier_model": round(brier_score(y, prob), 5), "brier_baseline": round(brier_score(y, baseline), 5),
        "brier_difference_model_minus_baseline": interval(*brier, digits=5),
        "beats_baseline": bool(auc[1] > 0 and brier[2] < 0),
        "positive_rate": round(float(y.mean()), 4), "rows": len(y),
    }


CAPACITY_VARIANTS = ALL_VARIANTS


def train_capacity(trace: Path, out_dir: Path, seed: int = DEFAULT_SEED, nthread: int = DEFAULT_NTHREAD,
                   max_functions: int | None = None) -> dict[str, Any]:
    data = split_trace(trace, max_functions)
    evaluation = evaluate_workload(data, seed, nthread)
    params, model_variants = evaluation["params"], evaluation["model_variants"]
    variants = CAPACITY_VARIANTS
    # Out-of-fold workload predictions for the training functions: the classifier must learn from
    # predictions as good (and as wrong) as those it will see at preview time.
    oof_rows, oof_y, oof_caps = [], [], []
    for k in range(CV_FOLDS):
        fit_fns = [f for f in data.train if fold_of(f.function_id) != k]
        val_fns = [f for f in data.train if fold_of(f.function_id) == k]
        if not val_fns:
            continue
        peaks = _workload_quantiles(fit_fns, val_fns, variants, params, model_variants, seed, nthread)
        x, y, caps = capacity_set(val_fns, peaks, variants)
        oof_rows.append(x)
        oof_y.append(y)
        oof_caps.append(caps)
    x_train, y_train, cap_train = np.vstack(oof_rows), np.concatenate(oof_y), np.concatenate(oof_caps)
    model = fit_classifier(x_train, y_train, CAPACITY_FEATURES, seed, nthread)

    test_peaks = _workload_quantiles(data.train, data.test, variants, params, model_variants, seed, nthread)
    x_test, y_test, cap_test = capacity_set(data.test, test_peaks, variants)
    prob = model.predict(xgb.DMatrix(x_test, feature_names=list(CAPACITY_FEATURES)))
    baseline = _rate_by_bin(cap_train, y_train, cap_test)
    per_fn = len(variants) * len(CAPACITY_GRID_LOG10)
    groups = np.arange(len(y_test)) // per_fn
    variant_of_row = np.array([HINT_VARIANTS[variants[(i // len(CAPACITY_GRID_LOG10)) % len(variants)]]
                               for i in range(len(y_test))])
    slices = {}
    for name in (HINT_VARIANTS[v] for v in variants):
        rows = variant_of_row == name
        slices[name] = _classifier_slice(y_test[rows], prob[rows], baseline[rows], groups[rows], seed)
    use_model = {name: s["beats_baseline"] for name, s in slices.items()}
    shipped = np.where([use_model[v] for v in variant_of_row], prob, baseline)
    slices["all_as_used_at_preview"] = _classifier_slice(y_test, shipped, baseline, groups, seed)
    slices["all_model_only"] = _classifier_slice(y_test, prob, baseline, groups, seed)
    all_caps, all_y = np.concatenate([cap_train, cap_test]), np.concatenate([y_train, y_test])
    grid = [float(c) for c in CAPACITY_GRID_LOG10]
    rates = [round(float(all_y[all_caps == c].mean()), 6) for c in CAPACITY_GRID_LOG10]
    metrics = {
        "data": TRACE_SOURCE, "label": "trace busiest-minute concurrency (Little's law) > declared capacity",
        "capacity_grid": [round(10 ** c, 2) for c in CAPACITY_GRID_LOG10], "seed": seed, "nthread": nthread,
        "held_out_functions": len(data.test), "hint_variants": [HINT_VARIANTS[v] for v in variants],
        "interval": "95 % percentile bootstrap over held-out functions (2000 resamples)",
        "beats_baseline_rule": "AUC difference interval > 0 and Brier difference interval < 0",
        "held_out": slices,
        "used_at_preview": {k: "model" if v else "baseline" for k, v in use_model.items()},
        "baseline": "exceedance rate per declared-capacity value in the training rows (ignores the workload)",
    }
    final = fit_classifier(np.vstack([x_train, x_test]), np.concatenate([y_train, y_test]),
                           CAPACITY_FEATURES, seed, nthread)
    write_model(out_dir, "capacity-risk", final, {
        "kind": "classifier", "features": list(CAPACITY_FEATURES), "synthetic_training": False,
        "trained_on": TRACE_SOURCE, "params": _classifier_params(seed),
        "model_used": use_model,
        "baseline": {"capacity_log10": grid, "exceedance_rate": rates},
    })
    merge_metrics(out_dir, "capacity_risk", metrics)
    return metrics


# ------------------------------------------------------------------ change risk


def train_risk(out_dir: Path, history: Path | None = None, labels: Path | None = None,
               environment: str | None = None, seed: int = DEFAULT_SEED,
               nthread: int = DEFAULT_NTHREAD) -> dict[str, Any]:
    if history is None:
        x, y = synthetic_change_set()
        source = "SYNTHETIC bootstrap set (preflight/predict/change_risk.py assumptions); not real outcomes"
        synthetic = True
    else:
        x, y = load_change_history(history, labels, environment)
        source = f"team deployment history {history}" + (f" labelled by {labels}" if labels else "")
        synthetic = False
    rng = np.random.default_rng(seed)
    held_out = rng.random(len(y)) < 0.25
    if held_out.all() or not held_out.any():
        held_out[: max(1, len(y) // 4)] = True
        held_out[max(1, len(y) // 4):] = False
    model = fit_classifier(x[~held_out], y[~held_out], CHANGE_FEATURES, seed, nthread)
    prob = model.predict(xgb.DMatrix(x[held_out], feature_names=list(CHANGE_FEATURES)))
    changed = np.nan_to_num(x[held_out][:, :3]).sum(axis=1)  # replacements + deletions + updates
    base_rate = np.full(int(held_out.sum()), float(y[~held_out].mean()))
    y_held = y[held_out]
    auc_diff = bootstrap_grouped_ci(np.arange(len(y_held)),
                                    lambda r: roc_auc(y_held[r], prob[r]) - roc_auc(y_held[r], changed[r]), seed=seed)
    brier_diff = bootstrap_grouped_ci(np.arange(len(y_held)), lambda r: brier_score(y_held[r], prob[r])
                                      - brier_score(y_held[r], base_rate[r]), seed=seed)
    metrics = {
        "data": source, "synthetic_training": synthetic, "rows": len(y), "seed": seed, "nthread": nthread,
        "interval": "95 % percentile bootstrap over held-out changes (2000 resamples)",
        "held_out": {
            "auc_difference_model_minus_changed_resource_count": interval(*auc_diff),
            "brier_difference_model_minus_base_rate": interval(*brier_diff, digits=5),
            "auc_model": round(roc_auc(y[held_out], prob), 4),
            "auc_baseline_changed_resource_count": round(roc_auc(y[held_out], changed), 4),
            "brier_model": round(brier_score(y[held_out], prob), 5),
            "brier_baseline_base_rate": round(brier_score(y[held_out], base_rate), 5),
            "positive_rate": round(float(y[held_out].mean()), 4), "rows": int(held_out.sum()),
        },
    }
    final = fit_classifier(x, y, CHANGE_FEATURES, seed, nthread)
    write_model(out_dir, "change-risk", final, {
        "kind": "classifier", "features": list(CHANGE_FEATURES), "synthetic_training": synthetic,
        "trained_on": source, "params": _classifier_params(seed),
    })
    merge_metrics(out_dir, "change_risk", metrics)
    return metrics
