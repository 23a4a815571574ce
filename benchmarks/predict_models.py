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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from guardrails_predict.training import train_capacity, train_risk, train_workload  # noqa: E402

TRACE = Path("/work/shared/data/serverless-trace")


def _row(*cells: object) -> str:
    return "  ".join(f"{c!s:<38}" if i == 0 else f"{c!s:>12}" for i, c in enumerate(cells))


def report(metrics: dict) -> None:
    w = metrics["workload"]
    print(f"Workload quantile models (P10/P50/P90), held-out functions: {w['held_out_functions']} "
          f"(train {w['train_functions']}), split {w['split']}")
    print(_row("target / hints", "pinball", "baseline", "beats?", "P10-P90 cov"))
    for target, values in w["targets"].items():
        for hints, h in values["held_out"].items():
            beats = h["pinball_loss_model"] < h["pinball_loss_unconditional_baseline"]
            print(_row(f"{target.replace('_log10', '')}/{hints}", h["pinball_loss_model"],
                       h["pinball_loss_unconditional_baseline"], "yes" if beats else "NO", h["coverage_p10_p90"]))
    for section, base in (("capacity_risk", "capacity_only"), ("change_risk", None)):
        h = metrics[section]["held_out"]
        print(f"\n{section} (rows {h['rows']}, positive rate {h['positive_rate']})"
              + ("  [SYNTHETIC training data]" if metrics[section].get("synthetic_training") else ""))
        auc_base = h.get(f"auc_baseline_{base}") if base else h["auc_baseline_changed_resource_count"]
        brier_base = h.get(f"brier_baseline_{base}") if base else h["brier_baseline_base_rate"]
        print(_row("", "model", "baseline"))
        print(_row("AUC", h["auc_model"], auc_base))
        print(_row("Brier", h["brier_model"], brier_base))
        if "no_hints_only" in h:
            n = h["no_hints_only"]
            print(_row("AUC (no declared hints)", n["auc_model"], n["auc_baseline_capacity_only"]))
            print(_row("Brier (no declared hints)", n["brier_model"], n["brier_baseline_capacity_only"]))


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
        metrics = json.loads((REPO / "models/metrics.json").read_text())
    report(metrics)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
