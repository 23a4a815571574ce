"""Benchmark: offline verification of the shared Sigstore cases, cold (no cache) vs warm (on-disk cache).

    .venv/bin/python benchmarks/supply_chain_verify.py [--rounds N]

Prints per-bundle verify time and evaluate_plan time for a plan of N services, cold and warm.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from guardrails_core.settings import SignerRule
from guardrails_supply_chain import evaluate_plan
from guardrails_supply_chain.trust import load_trusted_root
from guardrails_supply_chain.verify import sha256_file, verify_bundle_bytes

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GUARDRAILS_SHARED_DIR", REPO.parent / "shared"))
SIGSTORE = SHARED / "data" / "sigstore"


def bench_cases(rounds: int) -> None:
    cases = json.loads((SIGSTORE / "cases.json").read_text())["cases"]
    timings = []
    for _ in range(rounds):
        for case in cases:
            root = load_trusted_root(str(SIGSTORE / case["trusted_root"]))
            rule = SignerRule(identity=case["expected_identity"], issuer=case["expected_issuer"])
            digest = sha256_file(SIGSTORE / case["artifact"])
            bundle = (SIGSTORE / case["bundle"]).read_bytes()
            start = time.perf_counter()
            verify_bundle_bytes(digest, bundle, [rule], root, case["id"])
            timings.append(time.perf_counter() - start)
    print(f"verify_bundle_bytes: {len(timings)} verifications, median {statistics.median(timings) * 1000:.1f} ms, "
          f"p95 {sorted(timings)[int(len(timings) * 0.95) - 1] * 1000:.1f} ms")


def bench_plan(services: int) -> None:
    beacon = json.loads((SIGSTORE / "cases.json").read_text())["cases"][5]
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "ev").mkdir()
        shutil.copyfile(SIGSTORE / beacon["bundle"], project / "ev" / "b.json")
        resources = []
        for i in range(services):
            resources.append({
                "type": "kubernetes:serving.knative.dev/v1:Service", "name": f"s{i}",
                "urn": f"urn:pulumi:b::p::k::s{i}",
                "props": {"metadata": {"name": f"s{i}", "annotations": {
                    "security.apexlogic.com/signature-bundle": "ev/b.json"}},
                    "spec": {"template": {"spec": {"containers": [
                        {"image": f"ghcr.io/a/s{i}@sha256:{beacon['artifact_sha256']}"}]}}}},
            })
        settings = {"environment": "prod", "supply_chain": {"signers": [
            {"identity": beacon["expected_identity"], "issuer": beacon["expected_issuer"]}]}}
        # "no cache" verifies every service; "warm" answers from .preflight-cache/ written by the first cached run.
        for label, use_cache in (("no cache", False), ("cache fill", True), ("warm", True)):
            start = time.perf_counter()
            records, _ = evaluate_plan(resources, settings, project, use_cache=use_cache)
            elapsed = time.perf_counter() - start
            assert all(r["verified"] for r in records)
            print(f"evaluate_plan {label}: {services} services in {elapsed * 1000:.1f} ms "
                  f"({elapsed * 1000 / services:.2f} ms/service)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--services", type=int, default=50)
    args = parser.parse_args()
    bench_cases(args.rounds)
    bench_plan(args.services)


if __name__ == "__main__":
    main()
