"""The base of `--compare-to`: a report JSON file, a git ref previewed the same way in a throw-away worktree, or
`deployed`: the stack's last deployment on its backend (`pulumi stack export`, the previous state preview already
reads), judged by the same packs and priced by the same predictions - what runs now against this change.

A pull request is judged against its base commit. With a ref (`main`, `origin/main`, a SHA) preflight checks that
commit out into a temporary `git worktree` (never touching the user's working tree), runs the offline preview of
the same stack there — the base's declarations, stack config, program and packs, evaluated by this preflight and
its libraries — and compares against that report. The worktree is removed afterwards, also on failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from preflight.report.compare import BaseReportError, checked_base_report, load_base_report

DEPLOYED = "deployed"  # --compare-to deployed

GIT_TIMEOUT = 120
PREVIEW_TIMEOUT = 1800


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=GIT_TIMEOUT,
                          check=False, stdin=subprocess.DEVNULL)


def _commit_of(project_dir: Path, ref: str) -> tuple[Path, str] | None:
    """(repository root, commit SHA) when `ref` names a commit of the project's repository, else None."""
    top = _git(project_dir, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        return None
    commit = _git(project_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit.returncode != 0:
        return None
    return Path(top.stdout.strip()), commit.stdout.strip()


def _preview_at(repo: Path, commit: str, project_dir: Path, stack: str, project: str) -> dict[str, Any]:
    relative = project_dir.resolve().relative_to(repo.resolve())
    with tempfile.TemporaryDirectory(prefix="preflight-base-") as scratch:
        worktree = Path(scratch) / "base"
        added = _git(repo, "worktree", "add", "--detach", str(worktree), commit)
        if added.returncode != 0:
            raise BaseReportError(f"--compare-to {commit[:12]}: git worktree add failed: {added.stderr.strip()}")
        try:
            base_project = worktree / relative
            # The base's packs run in this checkout's pack virtualenv (a venv is never committed).
            for pack_venv in (project_dir / "policy_packs").glob("*/venv"):
                target = base_project / "policy_packs" / pack_venv.parent.name / "venv"
                if target.parent.is_dir() and not target.exists():
                    target.symlink_to(pack_venv.resolve(), target_is_directory=True)
            run = subprocess.run(
                [sys.executable, "-m", "preflight", "preview", "--project-dir", str(base_project), "--stack", stack,
                 "--engine", "offline", "--quiet", "--json"],
                capture_output=True, text=True, timeout=PREVIEW_TIMEOUT, check=False, stdin=subprocess.DEVNULL,
                env={**os.environ, "NO_COLOR": "1"}, cwd=base_project)
            if run.returncode not in (0, 1):
                tail = run.stderr.strip().splitlines()[-5:]
                raise BaseReportError(f"--compare-to {commit[:12]}: the base commit could not be previewed on "
                                      f"stack {stack} (exit {run.returncode}): " + " | ".join(tail))
            try:
                doc = json.loads(run.stdout)
            except json.JSONDecodeError as exc:
                raise BaseReportError(f"--compare-to {commit[:12]}: no report from the base preview ({exc})") from None
        finally:
            _git(repo, "worktree", "remove", "--force", str(worktree))
    # the same validation as a report file given directly
    return checked_base_report(doc, f"the preview of {commit[:12]}", project=project)


def load_base(reference: str, project_dir: Path, stack: str, project: str) -> tuple[dict[str, Any], str]:
    """(base report, label) for `--compare-to REFERENCE`: an existing file, else a git ref of the project."""
    path = Path(reference)
    if path.exists():
        return load_base_report(path, project=project), path.name
    found = _commit_of(project_dir, reference)
    if found is None:
        raise BaseReportError(f"--compare-to {reference}: neither a report file nor a git ref of "
                              f"{project_dir} (a preflight report JSON, or e.g. main / origin/main / a commit SHA)")
    repo, commit = found
    return _preview_at(repo, commit, project_dir, stack, project), f"{reference} ({commit[:12]})"


def deployed_base(previous: Any, project_dir: Path, stack: str, settings: Any, declarations: Any, packs: list[Path],
                  observed_pc: Any, generated_at: str) -> tuple[dict[str, Any], str]:
    """(base report, label) for `--compare-to deployed` from the previous state (`baseline.PreviousState` with
    resources): its findings and predictions as a base report carries them. Pack or model failures raise."""
    from preflight.live_state import judge

    verdict = judge({"deployed": previous.resources}, project_dir, stack, settings, declarations, packs,
                    observed_pc=observed_pc)["deployed"]
    if verdict.errors:
        raise BaseReportError(f"--compare-to {DEPLOYED}: the deployed state could not be judged: "
                              + "; ".join(verdict.errors))
    return ({"stack": stack, "generated_at": generated_at, "predictions": verdict.predictions,
             "violations": verdict.violations}, f"deployed: {previous.source}")
