"""Every figure of the performance table (issue 17) in one run, side by side with its target.

    .venv/bin/python benchmarks/perf_table.py [--quick] [--skip-cli]

Rows: `preflight preview` (offline engine, dev stack) at 500 and 1,000 generated services with the Pulumi SDK's
mock-registration floor measured in the same run (and preflight's total as a ratio to it); the real CLI with and
without `--policy-pack` on 100 Knative services as ABAB pairs (median ratio); pack start-up (process start → port
printed); per-resource Analyze through gRPC with the full pack (median, p95); predictions for 500 services after
model load with the XGBoost thread setting; peak RSS. `--quick` uses smaller sizes (100/200 services, 20 Knative
services for the CLI, 3 pairs) so the whole table runs in about two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.generate import generate  # noqa: E402
from benchmarks.preflight_preview import run as run_preflight_preview  # noqa: E402

PACK = REPO / "policy_packs" / "guardrails"
ROWS = ("preflight", "cli", "startup", "analyze", "predict")

# The SDK's floor: a program that registers R custom resources with Knative-sized inputs and nothing else, under
# the same mocks and monitor the offline engine uses. Run in a fresh interpreter so imports are counted as for
# preflight's program child (which pays them too).
_FLOOR_PROGRAM = textwrap.dedent("""
    import sys, time
    t0 = time.perf_counter()
    import pulumi
    from preflight.engine.mock_runner import run_program
    from preflight.engine.program_child import _skip_source_positions
    from guardrails_core.collector import collect_less
    count, project = int(sys.argv[1]), sys.argv[2]
    _skip_source_positions()
    collect_less()  # the program child's process settings, so the floor and preflight are measured alike
    resources = run_program(__import__("pathlib").Path(project), "dev", {}, project="floor")
    print(len(resources), time.perf_counter() - t0)
""")
_FLOOR_MAIN = textwrap.dedent("""
    import os
    import pulumi
    inputs = {"metadata": {"name": "n", "annotations": {"a": "1", "b": "2"}, "labels": {"app": "x"}},
              "spec": {"template": {"spec": {"containers": [{"image": "ghcr.io/x/y:1", "resources": {
                  "limits": {"cpu": "1", "memory": "1Gi"}}}]}}}}
    for i in range(int(os.environ["FLOOR_COUNT"])):
        pulumi.CustomResource("test:index:Resource", f"r{i}", dict(inputs))
""")


def mock_floor(count: int) -> tuple[int, float]:
    """(resources registered, seconds) for the SDK-only program with `count` resources."""
    with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
        (Path(tmp) / "__main__.py").write_text(_FLOOR_MAIN)
        out = subprocess.run([sys.executable, "-c", _FLOOR_PROGRAM, str(count), tmp], capture_output=True,
                             text=True, cwd=REPO, env={**os.environ, "FLOOR_COUNT": str(count),
                                                       "PYTHONPATH": str(REPO)}, check=True)
    registered, seconds = out.stdout.split()
    return int(registered), float(seconds)


def cli_pairs(services: int, pairs: int) -> dict:
    """`pulumi preview` without and with the pack, alternating (ABAB) so machine load hits both alike."""
    from benchmarks.cli_preview import generated_services
    from preflight.engine.pulumi_cli import find_pulumi_cli, run_pulumi_preview
    from tests.integration.helpers import PACK_REL, project_copy

    if find_pulumi_cli() is None:
        return {"skipped": "no pulumi CLI (scripts/install-pulumi-cli.sh)"}
    without, with_pack, ratios, findings = [], [], [], 0
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        project = project_copy(Path(tmp), generated_services(services))
        for _ in range(pairs):
            t0 = time.perf_counter()
            plain = run_pulumi_preview(project, "local", [])
            a = time.perf_counter() - t0
            t0 = time.perf_counter()
            checked = run_pulumi_preview(project, "local", [project / PACK_REL])
            b = time.perf_counter() - t0
            if plain.errors or checked.errors:
                return {"skipped": f"CLI errors: {(plain.errors or checked.errors)[0][-600:]}"}
            without.append(a)
            with_pack.append(b)
            ratios.append(b / a)
            findings = len(checked.findings)
    return {"without": without, "with": with_pack, "ratios": ratios, "findings": findings}


# The floor of a Python pack's start-up: pulumi-policy serving one policy that does nothing (the SDK's imports,
# gRPC, the port), in the same venv as the guardrails pack.
_EMPTY_PACK_MAIN = textwrap.dedent("""
    from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy
    PolicyPack(name="floor", enforcement_level=EnforcementLevel.ADVISORY, policies=[
        ResourceValidationPolicy(name="nothing", description="does nothing", validate=lambda args, report: None)])
""")


def _spawn_to_port(pack_dir: Path) -> float:
    """Seconds from spawning a pack process to its port on stdout (what the engine waits for)."""
    from preflight.crossguard.plugin import PolicyPackProcess

    proc = PolicyPackProcess(pack_dir, project="bench", stack="dev", stack_config={"guardrails:environment": "dev"})
    proc._start_engine()
    t0 = time.perf_counter()
    proc._proc = subprocess.Popen([proc.python, "-u", "-m", "pulumi.policy", str(proc.engine_address),
                                   str(proc.pack_dir)], cwd=proc.pack_dir, env=proc.environment(),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
    try:
        line = proc._proc.stdout.readline()
        elapsed = time.perf_counter() - t0
        if not line.strip().isdigit():
            raise RuntimeError(f"{pack_dir}: printed {line!r} instead of its port")
        return elapsed
    finally:
        proc.close()


def pack_startup(repeats: int) -> dict[str, list[float]]:
    """Start-up of the guardrails pack and of the empty pack (the floor), alternated in one run."""
    times: dict[str, list[float]] = {"pack": [], "floor": []}
    with tempfile.TemporaryDirectory(prefix="bench-empty-pack-") as tmp:
        floor_dir = Path(tmp)
        (floor_dir / "PulumiPolicy.yaml").write_text("runtime:\n  name: python\n  options:\n    virtualenv: venv\n")
        (floor_dir / "__main__.py").write_text(_EMPTY_PACK_MAIN)
        (floor_dir / "venv").symlink_to((PACK / "venv").resolve())
        for i in range(repeats):
            order = [("pack", PACK), ("floor", floor_dir)]
            for label, pack_dir in order if i % 2 == 0 else reversed(order):
                times[label].append(_spawn_to_port(pack_dir))
    return times


def analyze_latency(services: int) -> dict[str, list[float]]:
    """Per-call Analyze seconds by resource type, full pack, over the offline program's plan of the services.
    The pack's background load of the prediction stack (for AnalyzeStack, which this row does not send) is switched
    off, as for preflight's pack processes that only take Analyze calls: it would be measured as Analyze time."""
    from guardrails_core.settings import load_stack_settings, read_stack_config
    from guardrails_pack.prediction_controls import WARM_ENV

    from preflight.crossguard import PackSession
    from preflight.engine.offline import PROJECT, run_program_child
    from preflight.packs import pack_config

    by_type: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as tmp:
        project = generate(Path(tmp), services)
        plan = run_program_child(project, "dev")
        settings = load_stack_settings(project, "dev")
        config = pack_config(PACK, settings, project.resolve())
        with PackSession(PACK, stack="dev", project=PROJECT, stack_config=read_stack_config(project, "dev"),
                         call_timeout=120, extra_env={WARM_ENV: "0"}) as session:
            client = session.client
            client.set_provider_resources(plan)
            client.configure(config)
            for r in plan[:10]:  # first calls pay lazy imports and caches: not per-resource cost
                client.analyze(r)
            cpu_before = process_cpu_seconds(session.process._proc.pid)
            for r in plan:
                t0 = time.perf_counter()
                client.analyze(r)
                by_type.setdefault(r.type, []).append(time.perf_counter() - t0)
            # The pack's own CPU per call: what a loaded machine's wall-clock medians cannot show on their own.
            by_type[PACK_CPU] = [(process_cpu_seconds(session.process._proc.pid) - cpu_before) / len(plan)]
    return by_type


PACK_CPU = "pack CPU per Analyze"


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def prediction_latency(services: int, repeats: int) -> dict:
    from guardrails_predict.model_store import PREDICT_NTHREAD_ENV, predict_nthread

    from benchmarks.predict_latency import timed_predictions

    return {"times": timed_predictions(services, repeats), "nthread": predict_nthread(), "env": PREDICT_NTHREAD_ENV,
            "omp": os.environ.get("OMP_NUM_THREADS", "unset")}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _show(rows: list[tuple[str, str, str]]) -> None:
    for what, value, target in rows:
        print(f"  {what}: {value}  [target {target}]" if target else f"  {what}: {value}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, same rows (about two minutes)")
    parser.add_argument("--skip-cli", action="store_true", help="leave out the real-CLI row")
    parser.add_argument("--only", choices=ROWS, action="append", help="run only these rows (repeatable)")
    args = parser.parse_args()
    only = set(args.only or ROWS)
    sizes = [100, 200] if args.quick else [500, 1000]
    cli_services, pairs = (20, 3) if args.quick else (100, 3)
    rows: list[tuple[str, str, str]] = []
    started = time.perf_counter()
    print(f"{os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f}; {'quick' if args.quick else 'full'} run",
          flush=True)

    peak_mb = 0.0
    for count in sizes if "preflight" in only else []:
        r = run_preflight_preview(count)
        if r["exit"] not in (0, 1):
            print(f"preflight preview {count}: exit {r['exit']}", file=sys.stderr)
            return 1
        registered, floor_s = mock_floor(r["resources"])
        peak_mb = max(peak_mb, r["peak_rss_mb"])
        marks = [(float(t), label.split(":")[0]) for t, label in r["steps"]]
        # preflight's clock starts once its modules are imported; what lies outside its marks is that start-up
        # before, and after "done" the report (redaction, validation, the JSON written and printed) and the exit.
        spans = "; ".join([f"{label} {marks[i + 1][0] - t:.1f}s" for i, (t, label) in enumerate(marks[:-1])]
                          + [f"start-up, and after {marks[-1][1]} {r['wall_s'] - marks[-1][0]:.1f}s"])
        target = "<= 10 s (stretch 5 s)" if count == 500 else "linear (<= 20 s)"
        rows.append((f"preflight preview {count} svc ({r['resources']} res, {r['violations']} viol.)",
                     f"{r['wall_s']:.1f} s; {1000 * r['wall_s'] / r['resources']:.2f} ms/res", target))
        rows.append((f"  mock floor, {registered} resources (SDK only)",
                     f"{floor_s:.1f} s; {1000 * floor_s / registered:.2f} ms/res; preflight/floor "
                     f"{r['wall_s'] / floor_s:.1f}x", "the floor"))
        rows.append(("  steps", spans, ""))
        _show(rows[-3:])

    if "cli" not in only:
        pass
    elif args.skip_cli:
        rows.append((f"CLI preview {cli_services} Knative svc, with/without pack", "skipped (--skip-cli)", "<= 1.25"))
    else:
        cli = cli_pairs(cli_services, pairs)
        if "skipped" in cli:
            rows.append((f"CLI preview {cli_services} Knative svc, with/without pack", cli["skipped"], "<= 1.25"))
        else:
            pairs_text = ", ".join(f"{a:.1f}/{b:.1f}" for a, b in zip(cli["without"], cli["with"], strict=True))
            rows.append((f"CLI preview {cli_services} Knative svc, {pairs} ABAB pairs (without/with s)",
                         f"{pairs_text}; median ratio {statistics.median(cli['ratios']):.2f}", "<= 1.25"))
        _show(rows[-1:])

    if "startup" in only:
        startup = pack_startup(6 if not args.quick else 4)
        pack_s, floor_s = statistics.median(startup["pack"]), statistics.median(startup["floor"])
        rows.append(("pack start-up (spawn -> port printed)",
                     f"median {pack_s:.2f} s (min {min(startup['pack']):.2f}, n={len(startup['pack'])})",
                     "<= 0.5 s"))
        rows.append(("  empty pack (pulumi-policy, one no-op policy), alternated",
                     f"median {floor_s:.2f} s (min {min(startup['floor']):.2f}); pack/floor {pack_s / floor_s:.2f}x",
                     "the floor"))
        _show(rows[-2:])

    analyzed = 0
    latencies = analyze_latency(40 if args.quick else 100) if "analyze" in only else {}
    pack_cpu = latencies.pop(PACK_CPU, None)
    for rtype, seconds in sorted(latencies.items()):
        if len(seconds) < 5:
            continue
        ms = [1000 * s for s in seconds]
        rows.append((f"Analyze {rtype.split(':')[-1]} ({rtype.split(':')[1]})",
                     f"median {statistics.median(ms):.2f} ms, p95 {pct(ms, 0.95):.2f} ms (n={len(ms)})",
                     "<= 2 ms median"))
        analyzed += 1
    if pack_cpu:
        calls = sum(len(v) for v in latencies.values())
        rows.append(("Analyze, the pack process's CPU per call (all types)",
                     f"{1000 * pack_cpu[0]:.2f} ms (n={calls})", "<= 2 ms"))
        analyzed += 1
    _show(rows[len(rows) - analyzed:])

    if "predict" in only:
        pred = prediction_latency(500, 5 if args.quick else 9)
        rows.append((f"predictions 500 svc after load (nthread={pred['nthread']} via {pred['env']}, "
                     f"OMP_NUM_THREADS={pred['omp']})",
                     f"median {1000 * statistics.median(pred['times']):.0f} ms (min {1000 * min(pred['times']):.0f})",
                     "<= 200 ms"))
    if peak_mb:
        rows.append(("peak RSS (largest process of the preflight runs)", f"{peak_mb:.0f} MB", "<= 1 GB"))

    rows = [(what, " ".join(value.split())[:160], target) for what, value, target in rows]  # one line each
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    print()
    print(f"{'what':<{width}}  {'measured':<{vwidth}}  target")
    for what, value, target in rows:
        print(f"{what:<{width}}  {value:<{vwidth}}  {target}")
    print(f"(table took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
