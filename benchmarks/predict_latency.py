"""Prediction latency for 500 services after model load, and training time on the trace.

    .venv/bin/python benchmarks/predict_latency.py [--services 500] [--skip-training]
Targets (issue 5): prediction <= 200 ms for 500 services after load; training <= 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from guardrails_core.collector import collect_less  # noqa: E402
from guardrails_core.settings import StackSettings  # noqa: E402
from guardrails_predict.model_store import PREDICT_NTHREAD_ENV, predict_nthread  # noqa: E402
from guardrails_predict.plan import cached_models, predict_plan  # noqa: E402
from guardrails_predict.training import train_capacity, train_risk, train_workload  # noqa: E402

from preflight.engine.base import PlannedResource  # noqa: E402
from preflight.processes import PREFLIGHT_OLDEST_THRESHOLD  # noqa: E402

TRACE = Path("/work/shared/data/serverless-trace")


def services(n: int) -> list[PlannedResource]:
    """Half Knative, half Lambda; a third declare their workload, the rest use the model."""
    out = []
    for i in range(n):
        declared = {"finops.apexlogic.com/expected-requests-per-month": str(10_000 * (i + 1)),
                    "finops.apexlogic.com/expected-p50-latency-ms": str(20 + i % 300)} if i % 3 == 0 else {}
        if i % 2 == 0:
            props = {"metadata": {"name": f"svc-{i}", "labels": {"cost-center": "CC"}, "annotations": declared},
                     "spec": {"template": {"metadata": {"annotations": {"autoscaling.knative.dev/min-scale": str(i % 3),
                                                                         "autoscaling.knative.dev/max-scale": "20"}},
                                           "spec": {"containers": [{"resources": {"requests": {
                                               "cpu": f"{100 + i}m", "memory": f"{128 + i}Mi"}}}]}}}}
            out.append(PlannedResource(f"urn:k{i}", "kubernetes:serving.knative.dev/v1:Service", f"svc-{i}", True,
                                       None, None, props))
        else:
            props = {"name": f"fn-{i}", "memorySize": 128 + 64 * (i % 40), "timeout": 30,
                     "architectures": ["arm64" if i % 4 == 1 else "x86_64"], "tags": {"cost-center": "CC"}}
            out.append(PlannedResource(f"urn:p{i}$aws:lambda/function:Function::fn-{i}",
                                       "aws:lambda/function:Function", f"fn-{i}", True, f"urn:p{i}::fn-{i}", None,
                                       props))
    return out


def bench_settings() -> StackSettings:
    return StackSettings(environment="prod", aws_region="us-east-1")


def timed_predictions(n: int, repeats: int) -> list[float]:
    """Seconds of `predict_plan` over `n` generated services after the models are loaded and one warm-up run, under
    preflight's own collector settings (as preflight predicts; see preflight/__main__.py), restored afterwards."""
    settings = bench_settings()
    cached_models(None)
    resources = services(n)
    thresholds = gc.get_threshold()
    collect_less(oldest_threshold=PREFLIGHT_OLDEST_THRESHOLD)
    try:
        predict_plan(resources, settings, None, REPO)  # warm-up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = predict_plan(resources, settings, None, REPO)
            times.append(time.perf_counter() - t0)
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    assert len(result) == n
    return times


def bench_predict(n: int, repeats: int = 7) -> None:
    t0 = time.perf_counter()
    cached_models(None)
    load_ms = (time.perf_counter() - t0) * 1000
    timings = [1000 * seconds for seconds in timed_predictions(n, repeats)]
    config = json.loads(cached_models(None)["workload-requests"].booster.save_config())
    threads = config["learner"]["generic_param"]["nthread"]  # what the loaded booster will actually use
    print(f"model load + checksum: {load_ms:.1f} ms; XGBoost prediction nthread={predict_nthread()} "
          f"({PREDICT_NTHREAD_ENV}; booster config nthread={threads}); "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}; "
          f"{os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f}")
    print(f"predict_plan, {n} services (no previous state): median {statistics.median(timings):.1f} ms, "
          f"min {min(timings):.1f} ms, max {max(timings):.1f} ms over {repeats} runs, wall clock (target <= 200 ms)")
    resources = services(n)
    t0 = time.perf_counter()
    predict_plan(resources, bench_settings(), resources, REPO)
    print(f"predict_plan, {n} services with previous state: {(time.perf_counter() - t0) * 1000:.1f} ms")


def bench_training(nthread: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        train_workload(TRACE, Path(tmp), nthread=nthread)
        train_capacity(TRACE, Path(tmp), nthread=nthread)
        train_risk(Path(tmp), nthread=nthread)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(f"training workload+capacity+risk, nthread={nthread}: wall {wall:.1f} s, CPU {cpu:.1f} s "
          f"(target <= 60 s on 2 cores; machine has {os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f})")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()
    bench_predict(args.services)
    if not args.skip_training:
        for nthread in (1, 2):
            bench_training(nthread)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
