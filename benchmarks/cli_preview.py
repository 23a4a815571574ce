"""Benchmark: `pulumi preview` of N generated Knative services, with and without the guardrails policy pack,
and the offline engine on the same input. Prints wall times and the with/without ratio (target <= 1.25).

    .venv/bin/python benchmarks/cli_preview.py [--services 100] [--repeat 1] [--stack local]

Needs the CLI (scripts/install-pulumi-cli.sh). The services go into a temporary copy of the project; the
repository's services/ is never touched.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from preflight.engine.base import EngineResult  # noqa: E402
from preflight.engine.pulumi_cli import find_pulumi_cli, run_pulumi_preview  # noqa: E402
from tests.integration.helpers import PACK_REL, knative_service, project_copy  # noqa: E402

RATIO_TARGET = 1.25


def generated_services(count: int) -> dict[str, str]:
    """A mix that exercises the pack: most services clean, every 5th one with violations."""
    services = {}
    for i in range(count):
        name = f"gen-svc-{i:03d}"
        if i % 5 == 0:
            text = knative_service(name, image="docker.io/random/thing:latest", max_scale="100")
        else:
            text = knative_service(name, max_scale=str(1 + i % 5))
        services[f"{name}.yaml"] = text
    return services


def timed(label: str, repeat: int, run: Callable[[], EngineResult]) -> tuple[float, EngineResult]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    assert result is not None
    best = min(times)
    print(f"{label:<34} best {best:7.2f} s  median {statistics.median(times):7.2f} s  "
          f"resources {len(result.resources):4d}  findings {len(result.findings):4d}  errors {len(result.errors)}")
    if result.errors:
        print("   first error:", result.errors[0][:500])
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--stack", default="local")
    args = parser.parse_args()
    if find_pulumi_cli() is None:
        print("no pulumi CLI: run scripts/install-pulumi-cli.sh", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        project = project_copy(Path(tmp), generated_services(args.services))
        pack = project / PACK_REL
        print(f"{args.services} Knative services, stack {args.stack}, repeat {args.repeat}")
        without, _ = timed("pulumi preview (no pack)", args.repeat,
                           lambda: run_pulumi_preview(project, args.stack, []))
        with_pack, _ = timed("pulumi preview --policy-pack", args.repeat,
                             lambda: run_pulumi_preview(project, args.stack, [pack]))
        try:
            from preflight.engine.offline import run_offline
        except ImportError as exc:
            print(f"offline engine: not available ({exc})")
        else:
            from guardrails_core.settings import load_stack_settings

            settings = load_stack_settings(project, args.stack)
            timed("offline engine (with pack)", args.repeat,
                  lambda: run_offline(project, args.stack, settings, [pack]))
        ratio = with_pack / without
        verdict = "OK" if ratio <= RATIO_TARGET else "ABOVE TARGET"
        print(f"ratio with/without pack: {ratio:.2f} (target <= {RATIO_TARGET}) {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
