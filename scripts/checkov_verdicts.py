"""Per-resource verdicts of Checkov's own checks on its own example folders (helper of convert_peer_tests.py).

Runs under a Python that has Checkov's dependencies (`pip install checkov` in a separate venv: its pins clash with
ours), with Checkov's *source at the converted commit* first on sys.path, so the verdicts are that commit's code:

    CKV_PY -m ... scripts/checkov_verdicts.py SRC_DIR JOBS_JSON  > verdicts.json

JOBS_JSON: [{"check_id": "CKV_K8S_37", "folder": "<SRC_DIR>/tests/kubernetes/checks/example_X"}, ...]. Prints
{"<check_id> <folder>": {"passed": [[file, resource], ...], "failed": [...]}}, exactly what the Checkov test's
`Runner().run(root_folder=..., runner_filter=RunnerFilter(checks=[check.id]))` reports.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    src, jobs_path = argv
    sys.path.insert(0, src)
    from checkov.kubernetes.runner import Runner
    from checkov.runner_filter import RunnerFilter

    out = {}
    for job in json.loads(open(jobs_path).read()):
        report = Runner().run(root_folder=job["folder"], runner_filter=RunnerFilter(checks=[job["check_id"]]))
        out[f"{job['check_id']} {job['folder']}"] = {
            "passed": sorted([c.file_path, c.resource] for c in report.passed_checks),
            "failed": sorted([c.file_path, c.resource] for c in report.failed_checks),
        }
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
