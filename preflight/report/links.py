"""Where a declaration can be opened in the browser: a GitHub blob URL for `file` + `line`, when the repository is
known — from GitHub Actions' environment (`GITHUB_SERVER_URL`, `GITHUB_REPOSITORY`, `GITHUB_SHA`) or else from the
checkout's `origin` remote and HEAD commit. Without either, reports show locations as plain text."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

# git@github.com:owner/repo.git, ssh://git@host/owner/repo, https://host/owner/repo(.git), with or without user@
_REMOTE = re.compile(r"^(?:[a-z+]+://)?(?:[^@/]+@)?(?P<host>[^:/]+)(?::\d+)?[:/](?P<path>[^\s]+?)(?:\.git)?/?$")


def git_output(project_dir: Path, *args: str) -> str | None:
    """The trimmed stdout of `git -C project_dir ARGS`, or None (no git, not a repository, failed, empty)."""
    try:
        proc = subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else None


def remote_web_url(remote: str) -> str | None:
    """`git@github.com:o/r.git` -> `https://github.com/o/r`; None for a local path or an unparseable remote."""
    if remote.startswith(("/", ".", "file:")):
        return None
    match = _REMOTE.match(remote.strip())
    if not match:
        return None
    return f"https://{match['host']}/{match['path']}"


def blob_base(project_dir: Path, env: Mapping[str, str] | None = None) -> str | None:
    """`https://github.com/owner/repo/blob/<commit>/<project path in the repo>/`, or None when unknown."""
    env = os.environ if env is None else env
    project_dir = Path(project_dir).resolve()
    top = git_output(project_dir, "rev-parse", "--show-toplevel")
    inside = ""
    if top:
        relative = project_dir.relative_to(Path(top).resolve()).as_posix()
        inside = "" if relative == "." else relative + "/"
    if env.get("GITHUB_SERVER_URL") and env.get("GITHUB_REPOSITORY"):
        web = f"{env['GITHUB_SERVER_URL'].rstrip('/')}/{env['GITHUB_REPOSITORY']}"
        ref = env.get("GITHUB_SHA") or (top and git_output(project_dir, "rev-parse", "HEAD")) or "HEAD"
    else:
        remote = git_output(project_dir, "remote", "get-url", "origin") if top else None
        web = remote_web_url(remote) if remote else None
        if web is None:
            return None
        ref = git_output(project_dir, "rev-parse", "HEAD") or "HEAD"
    return f"{web}/blob/{quote(ref, safe='')}/{quote(inside)}"


def location_url(base: str | None, file: str | None, line: int | None) -> str | None:
    if not base or not file or file.startswith("/"):
        return None
    return base + quote(file) + (f"#L{line}" if line else "")
