"""Held-out metrics computed with numpy only (no scikit-learn at run time)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def pinball_loss(y: np.ndarray, pred: np.ndarray, alphas: tuple[float, ...]) -> float:
    """Mean pinball (quantile) loss over rows and quantiles; `pred` has one column per alpha."""
    losses = []
    for j, alpha in enumerate(alphas):
        diff = y - pred[:, j]
        losses.append(np.mean(np.maximum(alpha * diff, (alpha - 1) * diff)))
    return float(np.mean(losses))


def pinball_rows(y: np.ndarray, pred: np.ndarray, alphas: tuple[float, ...]) -> np.ndarray:
    """Per-row pinball loss averaged over the quantiles (the unit the bootstrap resamples)."""
    diff = np.asarray(y, dtype=np.float64)[:, None] - pred
    a = np.asarray(alphas, dtype=np.float64)[None, :]
    return np.maximum(a * diff, (a - 1) * diff).mean(axis=1)


def interval_coverage(y: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    return float(np.mean((y >= low) & (y <= high)))


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted half (equals sklearn.metrics.roc_auc_score)."""
    labels = np.asarray(labels, dtype=bool)
    pos, neg = int(labels.sum()), int((~labels).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(np.asarray(scores, dtype=np.float64), return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    average_rank = ends - (counts - 1) / 2.0  # 1-based rank averaged over each run of ties
    ranks = average_rank[inverse.reshape(-1)]
    return float((ranks[labels].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def brier_score(labels: np.ndarray, probabilities: np.ndarray) -> float:
    return float(np.mean((np.asarray(probabilities, dtype=np.float64) - np.asarray(labels, dtype=np.float64)) ** 2))


BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261201


def bootstrap_mean_ci(values: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES,
                      seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """(mean, 2.5 %, 97.5 %) of per-unit values (one value per held-out function), percentile bootstrap."""
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(resamples, len(values)))
    means = values[idx].mean(axis=1)
    return float(values.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def bootstrap_grouped_ci(groups: np.ndarray, statistic: Callable[[np.ndarray], float],
                         resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
                         ) -> tuple[float, float, float]:
    """(statistic, 2.5 %, 97.5 %) resampling whole groups (functions), so rows of one function stay together.

    `statistic(row_indices)` computes the figure on the given rows (with repeats)."""
    groups = np.asarray(groups)
    unique = np.unique(groups)
    singletons = len(unique) == len(groups)  # one row per group: resample rows directly
    rows_of = [] if singletons else [np.flatnonzero(groups == g) for g in unique]
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(resamples):
        pick = rng.integers(0, len(unique), size=len(unique))
        value = statistic(np.argsort(groups)[pick] if singletons else np.concatenate([rows_of[i] for i in pick]))
        if np.isfinite(value):
            stats.append(value)
    point = statistic(np.arange(len(groups)))
    return float(point), float(np.quantile(stats, 0.025)), float(np.quantile(stats, 0.975))


def interval(point: float, low: float, high: float, digits: int = 4) -> dict[str, float]:
    return {"estimate": round(point, digits), "ci95": [round(low, digits), round(high, digits)]}
