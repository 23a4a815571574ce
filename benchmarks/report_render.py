"""Benchmark: how long each report renderer takes on a large stack, and peak Python memory.

Run: .venv/bin/python benchmarks/report_render.py [--violations N] [--services N] [--repeat N]
Prints one line per renderer (best wall time of --repeat runs, peak traced memory, output size). Not a test.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from preflight.report import prepare, render_html, render_markdown, render_sarif, render_terminal, validate_report

SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "report" / "fixtures" / "sample_report.json"


def large_document(violations: int, services: int) -> dict[str, Any]:
    """The sample fixture scaled up: many findings spread over many services and files."""
    doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    templates = doc["violations"]
    doc["violations"] = []
    for i in range(violations):
        item = copy.deepcopy(templates[i % len(templates)])
        if item["file"]:
            item["file"] = f"services/svc-{i % services:04d}.yaml"
            item["line"] = 1 + (i % 7) * 20
        item["message"] = f"{item['message']} (#{i})"
        doc["violations"].append(item)
    template = doc["predictions"]["multimodal-ai-inference"]
    doc["predictions"] = {f"svc-{i:04d}": copy.deepcopy(template) for i in range(services)}
    chain = doc["supply_chain"][0]
    doc["supply_chain"] = [dict(chain, service=f"svc-{i:04d}") for i in range(services)]
    return doc


def measure(render: Callable[[], Any], repeat: int) -> tuple[float, int, Any]:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        output = render()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    render()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--violations", type=int, default=2000)
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    doc = large_document(args.violations, args.services)

    def terminal() -> str:
        buffer = io.StringIO()
        render_terminal(doc, Console(file=buffer, width=160))
        return buffer.getvalue()

    def first_markdown() -> str:
        prepare._VALIDATED.clear()  # as for the first format the CLI renders: validation included
        return render_markdown(doc)

    renderers: dict[str, Callable[[], Any]] = {
        "validate": lambda: validate_report(doc),
        "md-first": first_markdown,
        "terminal": terminal,
        "markdown": lambda: render_markdown(doc),
        "sarif": lambda: json.dumps(render_sarif(doc)),
        "html": lambda: render_html(doc),
    }
    print(f"document: {args.violations} violations, {args.services} services, {args.services} artifacts")
    print("(md-first validates; later renders of the same document reuse that validation by content hash)")
    for name, render in renderers.items():
        seconds, peak, output = measure(render, args.repeat)
        size = f"{len(output) / 1024:8.0f} KiB" if isinstance(output, str) else "        -"
        print(f"{name:9s} {seconds * 1000:9.1f} ms  peak {peak / 2**20:7.1f} MiB  output {size}")


if __name__ == "__main__":
    main()
