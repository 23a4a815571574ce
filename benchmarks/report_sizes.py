"""Benchmark: how big the PR comment and the console summary are for real plans of N generated services.

    .venv/bin/python benchmarks/report_sizes.py [N ...]      (default: 0 200 1000; 0 is the repo's seed)
Runs the real `preflight preview --stack prod` (offline engine) on each generated project and prints the Markdown
comment's size and the terminal output's lines and characters at 80, 120 and 200 columns. Not a test.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.generate import generate  # noqa: E402
from preflight.report import render_markdown, render_terminal  # noqa: E402


def report(count: int, root: Path) -> dict:
    if count:
        generate(root, count)
    else:
        for name in ("__main__.py", "Pulumi.yaml"):
            shutil.copy(REPO / name, root / name)
        for name in ("stacks", "functions", "services"):
            shutil.copytree(REPO / name, root / name)
    for name in ("policy_packs", "models"):
        (root / name).symlink_to(REPO / name, target_is_directory=True)
    proc = subprocess.run([sys.executable, "-m", "preflight", "preview", "--stack", "prod", "--engine", "offline",
                           "--quiet", "--json", "--project-dir", str(root)], capture_output=True, text=True)
    return json.loads(proc.stdout)


def main(counts: list[int]) -> None:
    print(f"{'services':>8} {'violations':>10} {'markdown chars':>14}   terminal lines / chars at 80, 120, 200 columns")
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            doc = report(count, Path(tmp))
        sizes = []
        for width in (80, 120, 200):
            buffer = io.StringIO()
            render_terminal(doc, Console(file=buffer, width=width))
            out = buffer.getvalue()
            sizes.append(f"{len(out.splitlines())} / {len(out):,}")
        print(f"{count:>8} {len(doc['violations']):>10} {len(render_markdown(doc)):>14,}   " + " · ".join(sizes))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [0, 200, 1000])
