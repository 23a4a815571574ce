"""The real `git`, run with bounded time, on a repository preflight never checks out over.

Every write happens in a temporary `git worktree` on a new branch, so the user's checkout (its files, its index,
its current branch) is untouched and main is never written; nothing is ever pushed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT_S = 60
PROTECTED_BRANCHES = frozenset({"main", "master", "trunk", "production", "release"})
# When the repository has no identity configured, commits say plainly that preflight made them.
FALLBACK_IDENTITY = ("preflight", "preflight@localhost")
_BRANCH_CHARS = re.compile(r"[^A-Za-z0-9._/-]+")


class GitError(RuntimeError):
    """A git command failed or was refused; the message says which and why (exit 2 for the CLI)."""


@dataclass(frozen=True)
class Git:
    """A repository (its top-level work tree)."""

    root: Path

    @classmethod
    def at(cls, path: Path) -> Git:
        if shutil.which("git") is None:
            raise GitError("git is not installed (needed to act through Git)")
        try:
            top = _run(["git", "rev-parse", "--show-toplevel"], Path(path)).strip()
        except GitError as exc:
            raise GitError(f"{path}: not inside a git repository ({exc})") from None
        return cls(Path(top))

    def run(self, *args: str, cwd: Path | None = None, check: bool = True) -> str:
        return _run(["git", *args], cwd or self.root, check=check)

    def head(self, ref: str = "HEAD") -> str:
        return self.run("rev-parse", "--verify", f"{ref}^{{commit}}").strip()

    def current_branch(self) -> str | None:
        name = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False).strip()
        return name or None

    def branch_exists(self, name: str) -> bool:
        return bool(self.run("rev-parse", "--verify", "--quiet", f"refs/heads/{name}", check=False).strip())

    def free_branch_name(self, wanted: str) -> str:
        """`wanted` made a valid ref name, with `-2`, `-3`... when it exists; never a protected branch."""
        name = _BRANCH_CHARS.sub("-", wanted).strip("/-.") or "preflight/change"
        if name in PROTECTED_BRANCHES:
            raise GitError(f"refusing to write branch {name!r}: preflight never writes {sorted(PROTECTED_BRANCHES)}")
        candidate, n = name, 1
        while self.branch_exists(candidate):
            n += 1
            candidate = f"{name}-{n}"
        return candidate

    def identity_env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        if not self.run("config", "user.name", check=False).strip() and "GIT_AUTHOR_NAME" not in os.environ:
            env.update(GIT_AUTHOR_NAME=FALLBACK_IDENTITY[0], GIT_COMMITTER_NAME=FALLBACK_IDENTITY[0])
        if not self.run("config", "user.email", check=False).strip() and "GIT_AUTHOR_EMAIL" not in os.environ:
            env.update(GIT_AUTHOR_EMAIL=FALLBACK_IDENTITY[1], GIT_COMMITTER_EMAIL=FALLBACK_IDENTITY[1])
        return env

    def log_touching(self, needle: str, file: str, ref: str = "HEAD") -> list[str]:
        """Commits (newest first) reachable from `ref` that changed how often `needle` occurs in `file`
        (`git log -S`): the commits that added or removed it."""
        out = self.run("log", "--format=%H", "-S", needle, ref, "--", file)
        return [line for line in out.splitlines() if line]

    def show_file(self, commit: str, file: str) -> str | None:
        out = subprocess.run(["git", "show", f"{commit}:{file}"], cwd=self.root, capture_output=True, text=True,
                             timeout=GIT_TIMEOUT_S, check=False)
        return out.stdout if out.returncode == 0 else None

    def parents(self, commit: str) -> list[str]:
        return self.run("rev-list", "--parents", "-n", "1", commit).split()[1:]

    def subject(self, commit: str) -> str:
        return self.run("log", "-1", "--format=%s", commit).strip()

    @contextmanager
    def worktree(self, branch: str | None, base: str) -> Iterator[Path]:
        """A temporary checkout of new branch `branch` at `base` (detached when None); removed afterwards (the
        branch stays)."""
        if branch in PROTECTED_BRANCHES:
            raise GitError(f"refusing to write branch {branch!r}")
        tmp = Path(tempfile.mkdtemp(prefix="preflight-gitops-"))
        path = tmp / "tree"
        try:
            new = ["-b", branch] if branch else ["--detach"]
            self.run("worktree", "add", "--quiet", *new, str(path), base)
            yield path
        finally:
            self.run("worktree", "remove", "--force", str(path), check=False)
            self.run("worktree", "prune", check=False)
            shutil.rmtree(tmp, ignore_errors=True)

    def commit_all(self, tree: Path, files: Sequence[str], message: str) -> str:
        """Stage `files` in the worktree `tree` and commit with `message`; the new commit's id. A file that is
        gone (a revert of the commit that added it) is staged as deleted."""
        present = [f for f in files if (tree / f).exists()]
        gone = [f for f in files if not (tree / f).exists()]
        if present:
            self.run("add", "--", *present, cwd=tree)
        if gone:
            self.run("rm", "--cached", "--quiet", "--ignore-unmatch", "--", *gone, cwd=tree)
        _run(["git", "commit", "--quiet", "--no-verify", "-F", "-"], tree, stdin=message,
             env=self.identity_env())
        return _run(["git", "rev-parse", "HEAD"], tree).strip()


def _run(argv: list[str], cwd: Path, check: bool = True, stdin: str | None = None,
         env: dict[str, str] | None = None) -> str:
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
    try:
        out = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S, input=stdin,
                             env=full_env, check=False)
    except subprocess.TimeoutExpired:
        raise GitError(f"`{' '.join(argv[:3])}` did not finish in {GIT_TIMEOUT_S} s") from None
    except OSError as exc:
        raise GitError(f"cannot run git in {cwd}: {exc.strerror}") from None
    if check and out.returncode != 0:
        detail = (out.stderr or out.stdout).strip().splitlines()
        raise GitError(f"`{' '.join(argv[:4])}` failed: {' / '.join(detail[-3:])[:400]}")
    return out.stdout
