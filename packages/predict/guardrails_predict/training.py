"""Deterministic training of the workload (quantile), capacity-risk and change-risk models.

Determinism: fixed seed, fixed `nthread`, rows sorted by function id, no subsampling; the same inputs give
byte-identical `.ubj` files (tested). Hyper-parameters are chosen by 5-fold cross-validation *inside* the
training split (grouped by function); the held-out 25% of functions (chosen by a hash of the id) is only
used for the reported metrics.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from guardrails_predict.change_risk import CHANGE_FEATURES, load_change_history, synthetic_change_set
from guardrails_predict.features import (
    CAPACITY_FEATURES,
    QUANTILES,
    WORKLOAD_FEATURES,
    WORKLOAD_TARGETS,
    WorkloadInputs,
    burstiness_given_requests,
    capacity_row,
    peak_concurrency,
    workload_matrix,
)
from guardrails_predict.metrics import brier_score, interval_coverage, pinball_loss, roc_auc
from guardrails_predict.model_store import merge_metrics, write_model
from guardrails_predict.trace import FunctionTrace, load_trace

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


def _held_out_report(model: xgb.Booster, train: Sequence[FunctionTrace], test: Sequence[FunctionTrace],
                     target: int) -> dict[str, Any]:
    baseline_q = np.quantile(np.array([targets_of(f)[target] for f in train]), QUANTILES)
    report: dict[str, Any] = {}
    for label, variants in (("no_hints", NO_HINTS), ("both_hints", BOTH_HINTS), ("all_hint_variants", ALL_VARIANTS)):
        x, y = workload_set(test, target, variants)
        pred = predict_sorted(model, x)
        base = np.tile(baseline_q, (len(y), 1))
        report[label] = {
            "pinball_loss_model": round(pinball_loss(y, pred, QUANTILES), 5),
            "pinball_loss_unconditional_baseline": round(pinball_loss(y, base, QUANTILES), 5),
            "coverage_p10_p90": round(interval_coverage(y, pred[:, 0], pred[:, 2]), 4),
            "rows": len(y),
        }
    return report


@dataclass(frozen=True)
class TrainingData:
    train: list[FunctionTrace]
    test: list[FunctionTrace]


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


def split_trace(trace: Path, max_functions: int | None = None) -> TrainingData:
    functions = load_trace(trace)
    if max_functions is not None:
        functions = functions[:max_functions]
    functions = usable_triggers(functions)
    train = [f for f in functions if not is_held_out(f.function_id)]
    test = [f for f in functions if is_held_out(f.function_id)]
    if len(train) < 10 or not test:
        raise ValueError(f"{trace}: need at least 10 training and 1 held-out function (got {len(train)}/{len(test)})")
    return TrainingData(train, test)


def train_workload(trace: Path, out_dir: Path, seed: int = DEFAULT_SEED, nthread: int = DEFAULT_NTHREAD,
                   max_functions: int | None = None) -> dict[str, Any]:
    data = split_trace(trace, max_functions)
    with_trigger = sum(f.trigger is not None for f in data.train + data.test)
    metrics: dict[str, Any] = {"data": TRACE_SOURCE, "train_functions": len(data.train),
                               "functions_with_trigger_used": with_trigger,
                               "held_out_functions": len(data.test), "split": "by function (sha256 of id)",
                               "seed": seed, "nthread": nthread, "targets": {}}
    for target, name in enumerate(WORKLOAD_MODEL_NAMES):
        (depth, rounds), cv = _choose_workload_params(data.train, target, seed, nthread)
        held_out_model = fit_quantile(*workload_set(data.train, target), depth, rounds, seed, nthread)
        report = _held_out_report(held_out_model, data.train, data.test, target)
        # The shipped model is refit on train + held-out with the chosen parameters (more data, same recipe).
        final = fit_quantile(*workload_set(data.train + data.test, target), depth, rounds, seed, nthread)
        write_model(out_dir, name, final, {
            "kind": "quantile", "target": WORKLOAD_TARGETS[target], "quantiles": list(QUANTILES),
            "features": list(WORKLOAD_FEATURES), "synthetic_training": False, "trained_on": TRACE_SOURCE,
            "params": {"max_depth": depth, "rounds": rounds, "eta": WORKLOAD_ETA, "seed": seed, "nthread": nthread},
        })
        metrics["targets"][WORKLOAD_TARGETS[target]] = {"chosen": {"max_depth": depth, "rounds": rounds},
                                                        "cv_pinball": cv, "held_out": report}
    metrics["platform"] = platform.machine()
    merge_metrics(out_dir, "workload", metrics)
    return metrics


# ------------------------------------------------------------------ capacity risk


def _peak_quantiles(req: np.ndarray, dur: np.ndarray, burst: np.ndarray) -> np.ndarray:
    """Comonotone combination: the q-th peak uses the q-th quantile of each input (log10 in, linear out)."""
    return np.array([[peak_concurrency(10 ** req[i, j], 10 ** dur[i, j], 10 ** burst[i, j]) for j in range(3)]
                     for i in range(len(req))])


def _declared_or(predicted_log10: np.ndarray, declared: Sequence[float | None]) -> np.ndarray:
    out = predicted_log10.copy()
    for i, value in enumerate(declared):
        if value:
            out[i, :] = np.log10(value)
    return out


def _workload_quantiles(fit_fns: Sequence[FunctionTrace], pred_fns: Sequence[FunctionTrace],
                        variants: Sequence[tuple[bool, bool]], params: dict[int, tuple[int, int]],
                        seed: int, nthread: int) -> np.ndarray:
    """Peak-concurrency quantiles exactly as prediction computes them (burstiness chained on requests)."""
    models = {}
    for target in range(3):
        depth, rounds = params[target]
        models[target] = fit_quantile(*workload_set(fit_fns, target), depth, rounds, seed, nthread)
    inputs = [row for fn in pred_fns for row in hint_variants(fn, variants)]
    # As at preview time: a declared value replaces the model's quantiles for that quantity.
    req = _declared_or(predict_sorted(models[0], workload_matrix(inputs, 0)),
                       [i.declared_requests_per_month for i in inputs])
    dur = _declared_or(predict_sorted(models[1], workload_matrix(inputs, 1)),
                       [i.declared_p50_latency_ms for i in inputs])
    burst = burstiness_given_requests(lambda m: predict_sorted(models[2], m), inputs, req)
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


def _no_hint_scores(y: np.ndarray, prob: np.ndarray, baseline: np.ndarray) -> dict[str, float]:
    """Rows come per function as [no-hints x capacities, both-hints x capacities]; score the first half."""
    per_variant = len(CAPACITY_GRID_LOG10)
    mask = (np.arange(len(y)) // per_variant) % 2 == 0
    return {"auc_model": round(roc_auc(y[mask], prob[mask]), 4),
            "auc_baseline_capacity_only": round(roc_auc(y[mask], baseline[mask]), 4),
            "brier_model": round(brier_score(y[mask], prob[mask]), 5),
            "brier_baseline_capacity_only": round(brier_score(y[mask], baseline[mask]), 5)}


def train_capacity(trace: Path, out_dir: Path, seed: int = DEFAULT_SEED, nthread: int = DEFAULT_NTHREAD,
                   max_functions: int | None = None) -> dict[str, Any]:
    data = split_trace(trace, max_functions)
    params = {t: _choose_workload_params(data.train, t, seed, nthread)[0] for t in range(3)}
    variants = (NO_HINTS[0], BOTH_HINTS[0])
    # Out-of-fold workload predictions for the training functions: the classifier must learn from
    # predictions as good (and as wrong) as those it will see at preview time.
    oof_rows, oof_y, oof_caps = [], [], []
    for k in range(CV_FOLDS):
        fit_fns = [f for f in data.train if fold_of(f.function_id) != k]
        val_fns = [f for f in data.train if fold_of(f.function_id) == k]
        if not val_fns:
            continue
        peaks = _workload_quantiles(fit_fns, val_fns, variants, params, seed, nthread)
        x, y, caps = capacity_set(val_fns, peaks, variants)
        oof_rows.append(x)
        oof_y.append(y)
        oof_caps.append(caps)
    x_train, y_train, cap_train = np.vstack(oof_rows), np.concatenate(oof_y), np.concatenate(oof_caps)
    model = fit_classifier(x_train, y_train, CAPACITY_FEATURES, seed, nthread)

    test_peaks = _workload_quantiles(data.train, data.test, variants, params, seed, nthread)
    x_test, y_test, cap_test = capacity_set(data.test, test_peaks, variants)
    prob = model.predict(xgb.DMatrix(x_test, feature_names=list(CAPACITY_FEATURES)))
    baseline = _rate_by_bin(cap_train, y_train, cap_test)
    metrics = {
        "data": TRACE_SOURCE, "label": "trace busiest-minute concurrency (Little's law) > declared capacity",
        "capacity_grid": [round(10 ** c, 2) for c in CAPACITY_GRID_LOG10], "seed": seed, "nthread": nthread,
        "held_out": {
            "auc_model": round(roc_auc(y_test, prob), 4),
            "auc_baseline_capacity_only": round(roc_auc(y_test, baseline), 4),
            "brier_model": round(brier_score(y_test, prob), 5),
            "brier_baseline_capacity_only": round(brier_score(y_test, baseline), 5),
            "positive_rate": round(float(y_test.mean()), 4), "rows": len(y_test),
            "no_hints_only": _no_hint_scores(y_test, prob, baseline),
        },
        "baseline": "exceedance rate per declared-capacity value in the training rows (ignores the workload)",
    }
    final = fit_classifier(np.vstack([x_train, x_test]), np.concatenate([y_train, y_test]),
                           CAPACITY_FEATURES, seed, nthread)
    write_model(out_dir, "capacity-risk", final, {
        "kind": "classifier", "features": list(CAPACITY_FEATURES), "synthetic_training": False,
        "trained_on": TRACE_SOURCE, "params": _classifier_params(seed),
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
    metrics = {
        "data": source, "synthetic_training": synthetic, "rows": len(y), "seed": seed, "nthread": nthread,
        "held_out": {
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
