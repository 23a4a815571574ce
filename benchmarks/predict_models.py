"""Print the held-out metrics of the committed models (models/metrics.json) against their baselines.

    .venv/bin/python benchmarks/predict_models.py            # committed metrics
    .venv/bin/python benchmarks/predict_models.py --retrain  # retrain into a temp dir first (same seed)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from guardrails_predict.model_store import DEFAULT_MODELS_DIR  # noqa: E402
from guardrails_predict.training import train_capacity, train_risk, train_workload  # noqa: E402

TRACE = Path("/work/shared/data/serverless-trace")


def _row(*cells: object) -> str:
    return "  ".join(f"{c!s:<34}" if i == 0 else f"{c!s:>20}" for i, c in enumerate(cells))


def _ci(entry: dict) -> str:
    low, high = entry["ci95"]
    return f"{entry['estimate']:+.4f} [{low:+.4f}, {high:+.4f}]"


def _share(entry: dict) -> str:
    low, high = entry["ci95"]
    return f"{entry['estimate']:.1%} [{low:.1%}, {high:.1%}]"


def report(metrics: dict) -> None:
    w = metrics["workload"]
    print(f"Workload quantile models (P10/P50/P90): held-out functions {w['held_out_functions']}, train "
          f"{w['train_functions']}, duplicate series removed {w['duplicate_series_removed']}; split: {w['split']}")
    print(f"Intervals: {w['interval']}. Held-out rows whose raw model outputs crossed (before monotone "
          f"rearrangement, at training): {w['quantile_crossings_before_rearrangement']}")
    print(_row("target / declared hints", "pinball model", "pinball baseline", "model - baseline [95% CI]",
               "used at preview", "P10-P90 cov"))
    for target, values in w["targets"].items():
        for hints, h in values["held_out"].items():
            print(_row(f"{target.replace('_log10', '')}/{hints}", h["pinball_loss_model"],
                       h["pinball_loss_unconditional_baseline"], _ci(h["difference_model_minus_baseline"]),
                       h["used_at_preview"], h["coverage_p10_p90"]))
    print("\nCost bands (Lambda x86_64 us-east-1 at each function's memory), held-out P10-P90 coverage [95% CI], "
          "target 80%:")
    print(_row("declared hints", "scale", "calibrated", "comonotone (old)", "median P90/P10 cal.", "median old"))
    for hints, b in w["cost_band"].items():
        print(_row(hints, b["scale"], _share(b["coverage_p10_p90_calibrated"]),
                   _share(b["coverage_p10_p90_comonotone_uncalibrated"]), b["median_p90_over_p10_calibrated"],
                   b["median_p90_over_p10_uncalibrated"]))
    cap = metrics["capacity_risk"]
    print(f"\ncapacity_risk: {cap['beats_baseline_rule']}; baseline = {cap['baseline']}")
    print(_row("declared hints", "AUC model/base", "AUC diff [95% CI]", "Brier model/base", "Brier diff [95% CI]",
               "used"))
    for name, h in cap["held_out"].items():
        used = cap["used_at_preview"].get(name, "-")
        print(_row(name, f"{h['auc_model']}/{h['auc_baseline']}", _ci(h["auc_difference_model_minus_baseline"]),
                   f"{h['brier_model']}/{h['brier_baseline']}", _ci(h["brier_difference_model_minus_baseline"]),
                   used))
    risk = metrics["change_risk"]
    h = risk["held_out"]
    print(f"\nchange_risk (rows {h['rows']}, positive rate {h['positive_rate']})"
          + ("  [SYNTHETIC training data: advisory unless guardrails:risk.enforceSyntheticChangeRisk]"
             if risk.get("synthetic_training") else ""))
    print(_row("AUC model / changed-resource count", f"{h['auc_model']}/{h['auc_baseline_changed_resource_count']}",
               _ci(h["auc_difference_model_minus_changed_resource_count"])))
    print(_row("Brier model / base rate", f"{h['brier_model']}/{h['brier_baseline_base_rate']}",
               _ci(h["brier_difference_model_minus_base_rate"])))


def crossings(trace: Path, generated: int = 1000) -> None:
    """Count P10 > P50 or P50 > P90 in what the shipped models predict: held-out set and generated services."""
    from guardrails_core.settings import StackSettings
    from guardrails_predict.features import workload_quantiles
    from guardrails_predict.model_store import predict_rows
    from guardrails_predict.plan import cached_models, predict_plan
    from guardrails_predict.training import ALL_VARIANTS, hint_variants, split_trace
    from guardrails_predict.workload import FEATURES, TARGET_MODELS, workload_policy

    from benchmarks.predict_latency import services

    models = cached_models(None)
    boosters = [models[n].booster for n in TARGET_MODELS]
    inputs = [row for fn in split_trace(trace).test for row in hint_variants(fn, ALL_VARIANTS)]
    wq = workload_quantiles(lambda t, m: predict_rows(boosters[t], m, FEATURES), inputs, workload_policy(models), 0.2)
    held = sum(int(np.sum(np.any(np.diff(wq.log10[t], axis=1) < 0, axis=1))) for t in range(3))
    settings = StackSettings(environment="prod", aws_region="us-east-1")
    plan = predict_plan(services(generated), settings, None, REPO)
    bands = [p["workload"][k] for p in plan.values() for k in ("requests_per_month", "mean_duration_ms", "burstiness")]
    bands += [p["cost_usd_month"] for p in plan.values()]
    generated_crossed = sum(not (b["p10"] <= b["p50"] <= b["p90"]) for b in bands)
    print(f"Quantile crossings after rearrangement: held-out {held} of {3 * len(inputs)} (row, target) bands; "
          f"{generated} generated services {generated_crossed} of {len(bands)} bands (3 targets + cost)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument("--trace", type=Path, default=TRACE)
    args = parser.parse_args()
    if args.retrain:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            train_workload(args.trace, out)
            train_capacity(args.trace, out)
            train_risk(out)
            metrics = json.loads((out / "metrics.json").read_text())
    else:
        metrics = json.loads((DEFAULT_MODELS_DIR / "metrics.json").read_text())
    report(metrics)
    if args.trace.exists():
        print()
        crossings(args.trace)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
