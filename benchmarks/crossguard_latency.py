"""Per-resource Analyze latency through the real CrossGuard protocol (benchmark, prints figures; not a test).

Starts the protocol-fidelity pack (tests/crossguard/packs/protocol_pack) as a plugin process, configures it,
then sends N synthetic Knative-like resources one Analyze call each, then one AnalyzeStack and Remediate for
each, and prints mean / p50 / p95 / max per call.

    .venv/bin/python benchmarks/crossguard_latency.py [--resources 1000] [--pack DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from guardrails_core.values import UNKNOWN, Secret  # noqa: E402

from preflight.crossguard.client import AnalyzerClient  # noqa: E402
from preflight.crossguard.plugin import PolicyPackProcess  # noqa: E402
from preflight.engine.base import PlannedResource  # noqa: E402

DEFAULT_PACK = REPO / "tests" / "crossguard" / "packs" / "protocol_pack"


def synthetic_resources(count: int) -> list[PlannedResource]:
    """Knative-Service-shaped inputs (~40 properties), with a few unknowns and secrets like a real preview."""
    out = []
    for i in range(count):
        name = f"svc-{i:04d}"
        inputs = {
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "visibility": "public" if i % 10 == 0 else "cluster-local",
            "metadata": {
                "name": name, "namespace": "ai-workloads",
                "labels": {"app.kubernetes.io/name": name, "environment": "dev", "cost-center": "cc-42"},
                "annotations": {"serverless-guardrails.dev/source": f"services/{name}.yaml:1",
                                "autoscaling.knative.dev/max-scale": "10"},
            },
            "spec": {"template": {"spec": {
                "containerConcurrency": 10, "timeoutSeconds": 300,
                "containers": [{
                    "name": "app", "image": f"ghcr.io/apexlogic/{name}@sha256:{'a' * 64}",
                    "resources": {"limits": {"cpu": "1", "memory": "2Gi"}},
                    "env": [{"name": "MODEL", "value": "llama"}, {"name": "TOKEN", "value": Secret("t0k3n")}],
                    "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
                }],
            }}},
            "status": UNKNOWN,
            "tags": {"managed-by": "pulumi"} if i % 2 else {},
        }
        out.append(PlannedResource(
            urn=f"urn:pulumi:bench::bench::kubernetes:serving.knative.dev/v1:Service::{name}",
            type="kubernetes:serving.knative.dev/v1:Service", name=name, custom=True, parent=None, provider=None,
            inputs=inputs,
        ))
    return out


def describe(label: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return (f"{label:<22} n={len(ms):>5}  mean={statistics.fmean(ms):7.3f} ms  p50={statistics.median(ms):7.3f} ms"
            f"  p95={p95:7.3f} ms  max={ms[-1]:7.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--pack", type=Path, default=DEFAULT_PACK)
    args = parser.parse_args()

    resources = synthetic_resources(args.resources)
    started = time.perf_counter()
    with PolicyPackProcess(args.pack, project="bench", stack="bench") as proc:
        start_s = time.perf_counter() - started
        client = AnalyzerClient(proc, call_timeout=60.0)
        info = client.get_analyzer_info()
        client.configure(None)

        for r in resources[:20]:  # warm-up (imports, first-call setup) not counted
            client.analyze(r)
        analyze_s, findings = [], 0
        for r in resources:
            t0 = time.perf_counter()
            outcome = client.analyze(r)
            analyze_s.append(time.perf_counter() - t0)
            findings += len(outcome.findings)

        t0 = time.perf_counter()
        stack_outcome = client.analyze_stack(resources)
        stack_s = time.perf_counter() - t0

        remediate_s, remediations = [], 0
        for r in resources:
            t0 = time.perf_counter()
            remediations += len(client.remediate(r))
            remediate_s.append(time.perf_counter() - t0)

    print(f"pack {info.name} ({len(info.policies)} policies), {args.resources} synthetic resources")
    print(f"plugin start (spawn -> port -> channel ready): {start_s * 1000:.0f} ms")
    print(describe("Analyze per resource", analyze_s))
    print(describe("Remediate per resource", remediate_s))
    print(f"{'AnalyzeStack (all)':<22} {stack_s * 1000:.1f} ms for {len(resources)} resources "
          f"({len(stack_outcome.findings)} findings)")
    print(f"findings from Analyze: {findings}; remediations proposed: {remediations}")
    print(f"Analyze throughput: {len(analyze_s) / sum(analyze_s):.0f} resources/s")


if __name__ == "__main__":
    main()
