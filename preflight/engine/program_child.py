"""Child process of the offline engine: run the program for one stack under mocks, pickle what it registered.

    python -m preflight.engine.program_child PROJECT_DIR STACK OUT_FILE
Exit 0: OUT_FILE holds {"resources": [...]}; exit 3: the program failed, OUT_FILE holds {"error", "resources"}.
"""

from __future__ import annotations

import logging
import pickle
import sys
from pathlib import Path

import pulumi.runtime.resource as pulumi_resource
from guardrails_core.collector import collect_less
from guardrails_core.settings import read_stack_config
from pulumi.runtime.proto import source_pb2

from preflight.engine.mock_runner import ProgramFailed, run_program

PROJECT = "serverless-guardrails"


def _skip_source_positions() -> None:
    # The SDK walks the Python stack for every resource to tell the engine where it was declared (~30% of a large
    # mock run). Mocks have no use for it; our reports point at the declaration file instead.
    pulumi_resource._get_stack_trace = lambda: source_pb2.StackTrace()


def main(argv: list[str]) -> int:
    project_dir, stack, out = Path(argv[0]), argv[1], Path(argv[2])
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    _skip_source_positions()
    collect_less()  # the plan-building process's collector settings
    try:
        resources = run_program(project_dir, stack, read_stack_config(project_dir, stack), project=PROJECT)
    except ProgramFailed as exc:
        out.write_bytes(pickle.dumps({"error": str(exc), "resources": exc.registered}))
        return 3
    out.write_bytes(pickle.dumps({"resources": resources}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
