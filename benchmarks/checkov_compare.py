"""Compare our pod/img controls with Checkov on the real Knative examples.

Checkov does not treat a Knative Service as a pod controller, so each `serving.knative.dev/v1` Service is
rewritten as an `apps/v1 Deployment` with the same pod template (name, namespace, labels, template metadata and
spec). Checkov runs only the CKV_K8S checks our controls name as peers; our controls run on the original ksvcs.
Per control: agreement, and every disagreement with its reason. Writes benchmarks/results/checkov_compare.md.

Checkov is installed from PyPI into benchmarks/.checkov-venv (its pins clash with ours); created if missing.

    .venv/bin/python benchmarks/checkov_compare.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guardrails_core.settings import load_stack_settings  # noqa: E402
from knative_examples_findings import (  # noqa: E402
    REPO,
    RESULTS,
    Example,
    evaluate_examples,
    ksvc_controls,
    load_examples,
)

CHECKOV_VENV = REPO / "benchmarks" / ".checkov-venv"
CHECKOV_SPEC = "checkov>=3.2,<4"
CHECKOV_BIN = CHECKOV_VENV / "bin" / "checkov"


def ensure_checkov() -> str:
    if not CHECKOV_BIN.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        subprocess.run([str(CHECKOV_VENV / "bin" / "pip"), "install", "-q", CHECKOV_SPEC], check=True)
    (CHECKOV_VENV / ".gitignore").write_text("*\n")  # keep the venv out of git without touching the root file
    out = subprocess.run([str(CHECKOV_BIN), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def to_deployment(ex: Example) -> dict[str, Any]:
    meta = ex.manifest.get("metadata") or {}
    template = (ex.manifest.get("spec") or {}).get("template") or {}
    template_meta = dict(template.get("metadata") or {})
    labels = dict(template_meta.get("labels") or {}) or {"app": ex.name}
    template_meta["labels"] = labels
    deployment_meta = {"name": ex.name, **({"namespace": meta["namespace"]} if "namespace" in meta else {})}
    if meta.get("labels"):
        deployment_meta["labels"] = meta["labels"]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": deployment_meta,
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": template_meta, "spec": template.get("spec") or {}}}}


def checkov_ids_by_control() -> dict[str, list[str]]:
    out = {}
    for control in ksvc_controls():
        if control.area not in ("pod", "img", "kn"):
            continue  # e.g. dc.pci-signed-artifacts names CKV_K8S_43 but only applies to PCI-scoped services
        ids = [p for p in control.peer_ids if p.startswith("CKV_K8S_")]
        if ids:
            out[control.id] = ids
    return out


# Deliberate differences (documented in the controls): Checkov's check applies everywhere, ours is scoped.
BY_DESIGN = {
    "pod.cpu-limit-stance": "CPU limit stance is per environment (`local`/`dev`: any; staging/prod: require)",
    "pod.probes": "Knative's queue-proxy supplies readiness; we require only liveness, and only in prod",
    "pod.sa-token-automount": "Knative rejects pod-level automountServiceAccountToken; we check the ServiceAccount",
}


def run_checkov(directory: Path, check_ids: list[str]) -> tuple[dict[str, set[str]], float, str]:
    """{deployment file: failed check ids}, wall seconds."""
    start = time.perf_counter()
    proc = subprocess.run(
        [str(CHECKOV_BIN), "-d", str(directory), "--framework", "kubernetes", "--check", ",".join(check_ids),
         "-o", "json", "--skip-download", "--compact"],
        capture_output=True, text=True,
    )
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({proc.returncode}): {proc.stderr[-2000:]}")
    doc = json.loads(proc.stdout)
    reports = doc if isinstance(doc, list) else [doc]
    failed: dict[str, set[str]] = defaultdict(set)
    for report in reports:
        for item in report.get("results", {}).get("failed_checks", []):
            failed[Path(item["file_path"]).name].add(item["check_id"])
    return failed, seconds, proc.stderr


def main() -> int:
    version = ensure_checkov()
    examples = load_examples()
    mapping = checkov_ids_by_control()
    all_ids = sorted({i for ids in mapping.values() for i in ids})
    settings = load_stack_settings(REPO, "local")
    controls = [c for c in ksvc_controls() if c.id in mapping]

    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for ex in examples:
            name = f"{Path(ex.file).stem}__{ex.index}.yaml"
            (Path(tmp) / name).write_text(yaml.safe_dump(to_deployment(ex), sort_keys=False))
            files[(ex.file, ex.index)] = name
        checkov_failed, checkov_seconds, _ = run_checkov(Path(tmp), all_ids)
        start_probe = time.perf_counter()
        subprocess.run([str(CHECKOV_BIN), "--version"], capture_output=True, check=True)
        checkov_startup = time.perf_counter() - start_probe

    runs = 20
    start = time.perf_counter()
    for _ in range(runs):
        ours = evaluate_examples(examples, settings, controls)
    ours_seconds = (time.perf_counter() - start) / runs

    rows = []
    disagreements: list[str] = []
    missed_total = 0
    for control in controls:
        ids = mapping[control.id]
        both = only_ours = only_checkov = neither = 0
        for ex in examples:
            outcome = next(o for o in ours[(ex.file, ex.index)] if o.control_id == control.id)
            ours_flags = outcome.status != "pass"
            ck = sorted(set(ids) & checkov_failed.get(files[(ex.file, ex.index)], set()))
            if ours_flags and ck:
                both += 1
            elif ours_flags:
                only_ours += 1
                disagreements.append(f"- `{control.id}` on {ex.name} ({ex.file}): we flag, Checkov "
                                     f"({', '.join(ids)}) passes. Ours: {outcome.messages[0]}")
            elif ck:
                only_checkov += 1
                missed_total += control.id not in BY_DESIGN
                reason = BY_DESIGN.get(control.id, "UNEXPLAINED - a gap in our control")
                disagreements.append(
                    f"- `{control.id}` on {ex.name} ({ex.file}): Checkov flags {', '.join(ck)}, we pass: {reason}"
                )
            else:
                neither += 1
        agree = both + neither
        rows.append(f"| `{control.id}` | {', '.join(ids)} | {both} | {only_ours} | {only_checkov} | {neither} | "
                    f"{agree}/{len(examples)} |")

    speedup = checkov_seconds / ours_seconds if ours_seconds else float("inf")
    speedup_ex_startup = max(checkov_seconds - checkov_startup, 0) / ours_seconds if ours_seconds else float("inf")
    text = "\n".join([
        "# Guardrails controls vs Checkov on the real Knative examples",
        "",
        f"Inputs: {len(examples)} Knative Services (shared/data/knative/examples); for Checkov each is rewritten as an "
        f"apps/v1 Deployment with the same pod template. Checkov {version}, checks: {', '.join(all_ids)}. Ours: the "
        f"{len(controls)} ksvc controls that name those checks as peers, on the ksvcs, `local` stack settings.",
        "",
        "| our control | Checkov checks | both flag | only we flag | only Checkov flags (missed) "
        "| neither | agreement |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"**Missed (Checkov flags, we pass) outside the by-design scoping below: {missed_total}** (target 0).",
        "",
        *(f"- by design, `{k}`: {v}" for k, v in BY_DESIGN.items()),
        "",
        "## Timing (same inputs)",
        "",
        f"- Checkov wall time (one process, {len(all_ids)} checks, {len(examples)} files): {checkov_seconds:.2f} s "
        f"(of which process start-up, measured with `checkov --version`: {checkov_startup:.2f} s)",
        f"- Ours (in-process, mean of {runs} runs, including the pulumi-policy prop proxies): "
        f"{ours_seconds * 1000:.1f} ms",
        f"- Speed-up: {speedup:.0f}x wall; {speedup_ex_startup:.0f}x excluding Checkov start-up (target >= 5x)",
        "",
        "## Disagreements and reasons",
        "",
        "Typical reasons: we evaluate placeholder/`ko://` images as unusable (fail closed) where Checkov sees a "
        "string; we require fields explicitly (e.g. allowPrivilegeEscalation: false) where a check's defaults differ; "
        "our env-specific stances (CPU limit, liveness probe only in prod) are looser in `local`.",
        "",
        *(disagreements or ["None."]),
        "",
    ])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "checkov_compare.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
