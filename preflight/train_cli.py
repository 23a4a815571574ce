"""`preflight train workload|capacity|risk ...` - deterministic training that writes models + metrics."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

# The training stack (numpy, XGBoost) is imported by `run_train`, not here: `preflight` builds this parser on
# every command, and importing XGBoost costs ~1 s of start-up on a loaded 2-core machine (issue 17).


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None, help="model folder (default: models/ of the repo)")
    parser.add_argument("--seed", type=int, default=None, help="training seed (default: the training module's)")
    parser.add_argument("--nthread", type=int, default=None,
                        help="XGBoost threads, fixed for determinism (default: the training module's)")


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `train` on the preflight CLI's subparsers; the parsed args carry `func` -> exit code."""
    train = subparsers.add_parser("train", help="train the workload, capacity-risk or change-risk model")
    kinds = train.add_subparsers(dest="model", required=True)
    for name, helptext in (("workload", "quantile models for requests, duration, burstiness"),
                           ("capacity", "capacity-risk classifier from the trace's per-minute series")):
        sub = kinds.add_parser(name, help=helptext)
        sub.add_argument("--trace", type=Path, required=True, help="Azure Functions 2019 trace folder")
        sub.add_argument("--max-functions", type=int, default=None, help="train on the first N functions only")
        if name == "workload":
            sub.add_argument("--history", type=Path, action="append", default=[], metavar="FILE",
                             help="a usage history written by `preflight observe` (out/observe/<stack>/usage-history/"
                                  "<service>.yaml), added to the training data as one row per service; repeatable. "
                                  "Needs --out (the shipped models are kept unless --replace-shipped)")
            sub.add_argument("--replace-shipped", action="store_true",
                             help="with --history: allow --out to be the shipped models folder")
        _common(sub)
    risk = kinds.add_parser("risk", help="change-risk classifier (synthetic bootstrap unless --history)")
    risk.add_argument("--history", type=Path, default=None,
                      help="`pulumi stack history --json` export or change-history/v1 JSON")
    risk.add_argument("--labels", type=Path, default=None, help="JSON {version: succeeded|failed|rolled-back}")
    risk.add_argument("--environment", choices=["local", "dev", "staging", "prod"], default=None,
                      help="environment of the history's stack when its config does not say")
    _common(risk)
    train.set_defaults(func=run_train)
    return train


def run_train(args: argparse.Namespace) -> int:
    from guardrails_predict.change_risk import HistoryError
    from guardrails_predict.model_store import models_dir
    from guardrails_predict.resources import PredictionInputError
    from guardrails_predict.trace import TraceError
    from guardrails_predict.training import (
        DEFAULT_NTHREAD,
        DEFAULT_SEED,
        train_capacity,
        train_risk,
        train_workload,
    )
    from guardrails_predict.usage_history import load_observed_history

    out = args.out or models_dir()
    seed = DEFAULT_SEED if args.seed is None else args.seed
    nthread = DEFAULT_NTHREAD if args.nthread is None else args.nthread
    histories = (args.history or []) if args.model == "workload" else []
    if histories:
        problem = _history_output_problem(args.out, args.replace_shipped)
        if problem:
            print(f"preflight train workload: {problem}", file=sys.stderr)
            return 2
    try:
        if args.model == "workload":
            observed = [load_observed_history(path) for path in histories]
            if observed:
                _start_from_shipped(out)
            metrics = train_workload(args.trace, out, seed, nthread, args.max_functions, observed)
            if observed:
                _say_where_the_baseline_stays(metrics, out)
        elif args.model == "capacity":
            metrics = train_capacity(args.trace, out, seed, nthread, args.max_functions)
        else:
            metrics = train_risk(out, args.history, args.labels, args.environment, seed, nthread)
    except (TraceError, HistoryError, PredictionInputError, ValueError) as exc:
        print(f"preflight train {args.model}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"model": args.model, "out": str(out), "metrics": metrics}, indent=2, default=str))
    return 0


def _history_output_problem(out: Path | None, replace_shipped: bool) -> str | None:
    """Retraining on observed data writes to a folder the user chose; the shipped models stay unless asked."""
    from guardrails_predict.model_store import DEFAULT_MODELS_DIR

    if out is None:
        return ("--history needs --out DIR (a new model folder; use it with GUARDRAILS_MODELS_DIR=DIR); the shipped "
                "models are not replaced without --replace-shipped")
    if out.resolve() == Path(DEFAULT_MODELS_DIR).resolve() and not replace_shipped:
        return f"--out {out} is the shipped models folder: pass --replace-shipped to overwrite it, or another --out"
    return None


def _start_from_shipped(out: Path) -> None:
    """A new output folder starts as a copy of the shipped models, so GUARDRAILS_MODELS_DIR=out has every model
    (the capacity and change-risk ones unchanged); the workload models and their metrics are then replaced."""
    import shutil

    from guardrails_predict.model_store import DEFAULT_MODELS_DIR

    if not (out / "manifest.json").exists() and Path(DEFAULT_MODELS_DIR).resolve() != out.resolve():
        out.mkdir(parents=True, exist_ok=True)
        for item in Path(DEFAULT_MODELS_DIR).iterdir():
            if item.is_file():
                shutil.copy2(item, out / item.name)


def _say_where_the_baseline_stays(metrics: dict[str, Any], out: Path) -> None:
    """Slices where the retrained model does not beat its baseline on the held-out functions keep the baseline
    at preview (the fallback the product already applies per slice): say which."""
    losing = metrics.get("not_beating_baseline") or []
    observed = metrics.get("observed_history", {})
    print(f"preflight train workload: {observed.get('services', 0)} observed service(s) added "
          f"({observed.get('dates', {}).get('first')} .. {observed.get('dates', {}).get('last')}); "
          f"models and metrics in {out}", file=sys.stderr)
    for item in losing:
        print(f"  {item}: the retrained model does not beat its baseline on the held-out functions (95 % bootstrap "
              "interval); preview uses the baseline there", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="preflight")
    add_train_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
