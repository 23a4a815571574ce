"""The offline engine: the program under the SDK's mocks (child process) + policy packs over CrossGuard gRPC."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from preflight.crossguard import PackSession
from preflight.crossguard.errors import CrossGuardError
from preflight.engine.base import EngineResult, PlannedResource
from preflight.packs import pack_config
from stackconf import StackSettings, read_stack_config

Progress = Callable[[str], None]
PROJECT = "serverless-guardrails"


class ProgramError(Exception):
    """The program could not produce a plan (invalid declarations, a crash); nothing should be previewed."""


def run_program_child(project_dir: Path, stack: str, *, timeout: float = 600.0) -> list[PlannedResource]:
    """Run the program in a child process (its own process group, killed on Ctrl-C or timeout)."""
    with tempfile.TemporaryDirectory(prefix="preflight-") as tmp:
        out = Path(tmp) / "plan.pickle"
        command = [sys.executable, "-m", "preflight.engine.program_child", str(project_dir), stack, str(out)]
        child = subprocess.Popen(command, cwd=project_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, start_new_session=True)
        try:
            _, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(child)
            raise ProgramError(f"the program did not finish within {timeout:.0f}s") from None
        except BaseException:  # Ctrl-C included: never leave the child behind
            _kill(child)
            raise
        if child.returncode == 3 and out.exists():
            raise ProgramError(pickle.loads(out.read_bytes())["error"])
        if child.returncode != 0 or not out.exists():
            tail = "\n".join(stderr.strip().splitlines()[-15:])
            raise ProgramError(f"the program crashed (exit {child.returncode}):\n{tail}")
        return pickle.loads(out.read_bytes())["resources"]


def _kill(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def run_offline(
    project_dir: Path,
    stack: str,
    settings: StackSettings,
    pack_dirs: Sequence[Path],
    *,
    progress: Progress = lambda message: None,
    call_timeout: float = 60.0,
) -> EngineResult:
    """Plan with mocks, then every pack analyses it. Pack failures become `errors` (they block the gate)."""
    stack_config = read_stack_config(project_dir, stack)
    progress("running the program under Pulumi mocks")
    resources = run_program_child(project_dir, stack)
    result = EngineResult(engine="offline", stack=stack, resources=resources)
    for pack_dir in pack_dirs:
        progress(f"policy pack {pack_dir.name}: {len(resources)} resources")
        try:
            with PackSession(pack_dir, stack=stack, project=PROJECT, dry_run=True,
                             stack_config=stack_config, call_timeout=call_timeout) as session:
                run = session.run(resources, pack_config(pack_dir, settings))
                result.policies.update({(run.pack, name): meta for name, meta in session.info.policies.items()})
        except CrossGuardError as exc:
            result.errors.append(str(exc))
            continue
        result.findings.extend(run.findings)
        result.remediations.extend(run.remediations)
        result.errors.extend(run.errors)
    return result
