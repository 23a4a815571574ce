"""Benchmark: the Pulumi program under the SDK's mocks for N generated services (half Knative, half Lambda).

    .venv/bin/python benchmarks/mock_run.py [N ...]      (default: 100 500)
Prints declarations, registered resources, wall time (load + run) and peak RSS.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from guardrails_core.collector import collect_less  # noqa: E402
from guardrails_core.settings import read_stack_config  # noqa: E402

from benchmarks.generate import generate  # noqa: E402
from preflight.engine.mock_runner import run_program  # noqa: E402
from preflight.engine.program_child import _skip_source_positions  # noqa: E402


def main(counts: list[int]) -> None:
    _skip_source_positions()  # as the offline engine's program child does
    collect_less()
    print(f"{'services':>8} {'resources':>9} {'wall s':>7} {'per svc ms':>10} {'peak RSS MB':>11}")
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            project = generate(Path(tmp), count)
            start = time.perf_counter()
            resources = run_program(project, "dev", read_stack_config(project, "dev"), project="serverless-guardrails")
            wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{count:>8} {len(resources):>9} {wall:>7.2f} {1000 * wall / count:>10.2f} {peak:>11.0f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 500])
