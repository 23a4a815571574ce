"""Held-out metrics computed with numpy only (no scikit-learn at run time)."""

from __future__ import annotations

import numpy as np


def pinball_loss(y: np.ndarray, pred: np.ndarray, alphas: tuple[float, ...]) -> float:
    """Mean pinball (quantile) loss over rows and quantiles; `pred` has one column per alpha."""
    losses = []
    for j, alpha in enumerate(alphas):
        diff = y - pred[:, j]
        losses.append(np.mean(np.maximum(alpha * diff, (alpha - 1) * diff)))
    return float(np.mean(losses))


def interval_coverage(y: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    return float(np.mean((y >= low) & (y <= high)))


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted half (equals sklearn.metrics.roc_auc_score)."""
    labels = np.asarray(labels, dtype=bool)
    pos, neg = int(labels.sum()), int((~labels).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = np.asarray(scores)[order]
    i = 0
    while i < len(sorted_scores):  # average ranks over ties
        j = i
        while j + 1 < len(sorted_scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[labels].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def brier_score(labels: np.ndarray, probabilities: np.ndarray) -> float:
    return float(np.mean((np.asarray(probabilities, dtype=np.float64) - np.asarray(labels, dtype=np.float64)) ** 2))
