"""Model monitoring: the deploy-time predictions against what was observed, day by day.

For each predicted band (monthly requests, mean duration, monthly cost; P10/P50/P90) and each observed whole
day (requests scaled to a month: x 730 / 24; the day's cost priced by the same engine):

    coverage = share of days inside [P10, P90]      (80 % when the band is calibrated)
    bias     = median observed / P50                (1 when unbiased)

A band has drifted when at least 7 days were observed and coverage < `guardrails:observe.minCoverage` or the
bias is beyond x2 either way. What to do depends on where the prediction came from (`workload.source`): a
model or baseline -> retrain, and meanwhile declare the observed usage history (the predictions prefer it); a
declared hint -> correct it; a usage history -> point the annotation at the freshly observed one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

MIN_DAYS = 7
BIAS_LIMIT = 2.0
QUANTITIES = (("requests_per_month", "workload.requests_per_month"), ("mean_duration_ms", "workload.mean_duration_ms"),
              ("cost_usd_month", "cost_usd_month"))


def _band(prediction: dict[str, Any], dotted: str) -> dict[str, float] | None:
    node: Any = prediction
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict) and all(isinstance(node.get(q), int | float) for q in ("p10", "p50", "p90")):
        return {q: float(node[q]) for q in ("p10", "p50", "p90")}
    return None


def compare(name: str, prediction: dict[str, Any] | None, samples: list[dict[str, Any]],
            day_cost: Callable[[float, float], float | None], min_coverage: float, domain: str,
            history_file: str | None, predicted_from: str) -> dict[str, Any]:
    if prediction is None:
        return {"status": "missing", "reason": f"no prediction for {name} in {predicted_from}"}
    if len(samples) < MIN_DAYS:
        return {"status": "missing", "reason": f"{len(samples)} whole day(s) observed; comparing needs {MIN_DAYS}"}
    observed = {
        "requests_per_month": [s["requests"] * 730 / 24 for s in samples],
        "mean_duration_ms": [s["meanDurationMs"] for s in samples],
    }
    costs = [day_cost(s["requests"] * 730 / 24, s["meanDurationMs"]) for s in samples]
    if all(c is not None for c in costs):
        observed["cost_usd_month"] = costs  # type: ignore[assignment]
    bands: dict[str, Any] = {}
    drifted = []
    for key, dotted in QUANTITIES:
        band = _band(prediction, dotted)
        if band is None or key not in observed:
            bands[key] = {"status": "missing", "reason": "not predicted" if band is None else "not priced"}
            continue
        values = np.array(observed[key], dtype=float)
        coverage = float(np.mean((values >= band["p10"]) & (values <= band["p90"])))
        bias = float(np.median(values) / band["p50"]) if band["p50"] > 0 else float("inf")
        drift = coverage < min_coverage or not (1 / BIAS_LIMIT <= bias <= BIAS_LIMIT)
        bands[key] = {"predicted": band, "observed_median": round(float(np.median(values)), 3),
                      "coverage": round(coverage, 3), "bias": round(bias, 3), "days": len(values),
                      "drifted": drift}
        if drift:
            drifted.append(key)
    source = (prediction.get("workload") or {}).get("source", "model")
    advice = None
    if drifted:
        history = f"finops.{domain}/usage-history: {history_file}" if history_file else \
            f"finops.{domain}/usage-history (no history could be written: see above)"
        advice = {
            "model": f"the workload model drifted for this service: declare {history} (predictions prefer it), "
                     "and retrain on it: preflight train workload --trace <trace folder> --history "
                     f"{history_file or '<usage history>'} --out <model folder>",
            "baseline": f"the baseline quantiles do not describe this service: declare {history}",
            "declared": f"the declared hints (finops.{domain}/expected-*) are off: correct them, or declare {history}",
            "history": f"the usage history is stale: point {history}",
        }.get(source, f"declare {history}")
    return {"status": "drifted" if drifted else "ok", "predicted_from": predicted_from, "workload_source": source,
            "bands": bands, "drifted": drifted, "advice": advice}
