"""Benchmark: `preflight preview` (offline engine) on N generated services, half Knative and half Lambda.

    .venv/bin/python benchmarks/preflight_preview.py [N ...]     (default: 100 500 1000)
Prints wall time of the whole command, peak RSS of the largest process (preflight, the program child or a pack),
and the per-step timings preflight prints. Target (issue 3): 500 services <= 10 s and <= 1 GB on 2 cores.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.generate import generate  # noqa: E402

_STEP_END = re.compile(r": [\d,]+ \w+ in [\d.]+s \(")


def run(count: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        project = generate(Path(tmp), count)
        for name in ("policy_packs", "models"):
            (project / name).symlink_to(REPO / name, target_is_directory=True)
        start = time.perf_counter()
        # GNU time reports the peak RSS of the largest process in the tree it waits for (children included).
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "preflight", "preview",
                               "--stack", "dev", "--engine", "offline", "--json", "--project-dir", str(project)],
                              capture_output=True, text=True, cwd=project)
        wall = time.perf_counter() - start
        doc = json.loads(proc.stdout)
        # Step starts only: a long step also prints "... · Ns in this step · still running" every 10 s, and its
        # end as "...: N files in 1.1s (…/s)".
        steps = [(t, label) for t, label in re.findall(r"\[preflight\s+([\d.]+)s\] (.*)", proc.stderr)
                 if "still running" not in label and not _STEP_END.search(label)]
        peak_kb = int(proc.stderr.strip().splitlines()[-1])
        return {"services": count, "resources": doc["resources"]["count"], "violations": len(doc["violations"]),
                "wall_s": wall, "peak_rss_mb": peak_kb / 1024, "steps": steps, "exit": proc.returncode}


def main(counts: list[int]) -> None:
    rows = [run(c) for c in counts]
    print(f"{'services':>8} {'resources':>9} {'violations':>10} {'wall s':>7} {'ms/resource':>11} {'peak RSS MB':>11}")
    for r in rows:
        print(f"{r['services']:>8} {r['resources']:>9} {r['violations']:>10} {r['wall_s']:>7.2f} "
              f"{1000 * r['wall_s'] / r['resources']:>11.2f} {r['peak_rss_mb']:>11.0f}")
    for r in rows:
        marks = [(float(t), label) for t, label in r["steps"]]
        spans = [f"{label.split(':')[0]} {marks[i + 1][0] - t:.1f}s" for i, (t, label) in enumerate(marks[:-1])]
        print(f"  {r['services']} services: " + "; ".join(spans))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 500, 1000])
