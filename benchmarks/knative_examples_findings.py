"""Run the guardrails pack's controls over the 30 real Knative Services in ../shared/data/knative/examples.

Each ksvc is evaluated as a `local`-stack declaration (settings from stacks/Pulumi.local.yaml), through the
same prop proxies pulumi-policy builds. Writes benchmarks/results/knative_examples_findings.md and prints it.

    .venv/bin/python benchmarks/knative_examples_findings.py
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "policy_packs" / "guardrails"))

from guardrails_core.settings import StackSettings, load_stack_settings  # noqa: E402
from guardrails_pack.control import KNATIVE_SERVICE, ResourceControl  # noqa: E402
from guardrails_pack.discovery import discover_controls  # noqa: E402
from guardrails_pack.runtime import Outcome, evaluate_resource, runtime_props  # noqa: E402

SHARED = Path(os.environ.get("GUARDRAILS_SHARED_DIR", REPO.parent / "shared"))
EXAMPLES = SHARED / "data" / "knative" / "examples"
RESULTS = REPO / "benchmarks" / "results"


@dataclass(frozen=True)
class Example:
    file: str
    index: int  # document index in the file
    name: str
    manifest: dict[str, Any]


def load_examples(directory: Path = EXAMPLES) -> list[Example]:
    """Only `kind: Service` of serving.knative.dev/v1 (files also hold ConfigMaps, Deployments, ...)."""
    out = []
    for path in sorted(directory.glob("*.yaml")):
        for index, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if isinstance(doc, dict) and doc.get("apiVersion") == "serving.knative.dev/v1" \
                    and doc.get("kind") == "Service":
                out.append(Example(path.name, index, str(doc["metadata"]["name"]), doc))
    return out


def ksvc_controls() -> list[ResourceControl]:
    return [c for c in discover_controls() if isinstance(c, ResourceControl) and KNATIVE_SERVICE in c.resource_types]


def evaluate_examples(examples: list[Example], settings: StackSettings,
                      controls: list[ResourceControl]) -> dict[tuple[str, int], list[Outcome]]:
    results: dict[tuple[str, int], list[Outcome]] = {}
    for ex in examples:
        props = runtime_props(ex.manifest)
        outcomes = []
        for control in controls:
            outcome = evaluate_resource(control, KNATIVE_SERVICE, props, settings, name=ex.name)
            if outcome is not None:
                outcomes.append(outcome)
        results[(ex.file, ex.index)] = outcomes
    return results


def render(examples: list[Example], results: dict[tuple[str, int], list[Outcome]],
           controls: list[ResourceControl], seconds: float) -> str:
    per_control: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for outcomes in results.values():
        for o in outcomes:
            if o.status in ("fail", "unknown"):
                per_control[o.control_id] += 1
            if o.status == "error":
                errors[o.control_id] += 1
    n = len(examples)
    lines = [
        "# Guardrails controls over the real Knative examples",
        "",
        f"{n} `serving.knative.dev/v1` Services from `shared/data/knative/examples` (knative/docs and "
        f"knative/serving, see PROVENANCE.md), evaluated as `local`-stack declarations by {len(controls)} "
        f"ksvc controls in {seconds * 1000:.1f} ms. `error` = the control failed closed on input it cannot judge "
        "(placeholder image such as `docker.io/{username}/...`, `ko://` build references); the pack reports "
        "those as violations too.",
        "",
        "## Per control",
        "",
        "| control | severity | services failing | failed closed (error) | passing |",
        "|---|---|---|---|---|",
    ]
    severity = {c.id: c.severity for c in controls}
    for control in controls:
        fail, err = per_control[control.id], errors[control.id]
        lines.append(f"| `{control.id}` | {severity[control.id]} | {fail} | {err} | {n - fail - err} |")
    lines += ["", "## Per service", "", "| file | service | violations | failed closed | controls failing |",
              "|---|---|---|---|---|"]
    for ex in examples:
        outcomes = results[(ex.file, ex.index)]
        failing = [o.control_id for o in outcomes if o.status in ("fail", "unknown")]
        erroring = [o.control_id for o in outcomes if o.status == "error"]
        lines.append(f"| `{ex.file}` | {ex.name} | {len(failing)} | {len(erroring)} | "
                     f"{', '.join(f'`{c}`' for c in failing)} |")
    lines += ["", "## First message per failing control (one example each)", ""]
    shown: set[str] = set()
    for ex in examples:
        for o in results[(ex.file, ex.index)]:
            if o.status != "pass" and o.control_id not in shown:
                shown.add(o.control_id)
                lines.append(f"- `{o.control_id}` on {ex.name} ({ex.file}): {o.messages[0]}")
    return "\n".join(lines) + "\n"


def main() -> int:
    examples = load_examples()
    if not examples:
        print(f"no Knative Services found under {EXAMPLES}", file=sys.stderr)
        return 1
    settings = load_stack_settings(REPO, "local")
    controls = ksvc_controls()
    start = time.perf_counter()
    results = evaluate_examples(examples, settings, controls)
    seconds = time.perf_counter() - start
    text = render(examples, results, controls, seconds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "knative_examples_findings.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
