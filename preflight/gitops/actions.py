"""An action = a branch + a commit (what, why, evidence) + a PR body, or, when a human must decide, the same
prepared as a patch file and a PR body with nothing committed.

The work is done in a temporary worktree at `base` (default: HEAD of the repository), so the user's checkout and
main are never written, and nothing is pushed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from guardrails_core.settings import StackSettings
from guardrails_predict.pricing.currency import USD, ExchangeRate

from preflight.gitops.git import Git, GitError
from preflight.gitops.yaml_edit import Edit, EditError, apply_edits, read_declaration, write_declaration
from preflight.report.markdown import code, fenced, text

ActionKind = Literal["promote", "rollback", "rightsize", "cleanup"]
ACTION_KINDS: tuple[str, ...] = ("promote", "rollback", "rightsize", "cleanup")
Status = Literal["committed", "prepared", "unchanged"]


@dataclass(frozen=True)
class FileEdits:
    """Edits of one declaration: `file` relative to the repository root, `line` the document's first line."""

    file: str
    line: int | None
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Change:
    """One before/after row of the PR body."""

    field: str
    before: str
    after: str


@dataclass
class Proposal:
    """What to do, why, and the evidence. Exactly one of `edits` (declaration changes) or `revert` (commits to
    `git revert`, newest first) is set."""

    kind: ActionKind
    service: str
    title: str  # what, one line: the commit subject and the PR title
    why: str
    evidence: list[str]  # one line each: figures with their query and window, test statistics
    edits: list[FileEdits] = field(default_factory=list)
    revert: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    saving_usd_month: dict[str, float] | None = None  # {"p10", "p50", "p90"}; None when no saving is expected
    risk: str = ""
    branch: str | None = None  # default: preflight/<kind>/<service>
    currency: ExchangeRate = USD  # the stack's: how the PR body writes `saving_usd_month`


@dataclass
class Outcome:
    status: Status
    kind: ActionKind
    branch: str | None  # the branch holding the commit (None when prepared)
    base: str  # the commit the change was made on
    commit: str | None
    patch: str  # the change as a `git apply`-able diff against `base`
    patch_file: str | None
    body_file: str | None
    needs_approval: bool
    message: str  # the commit message (also when prepared)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "kind": self.kind, "branch": self.branch, "base": self.base,
                "commit": self.commit, "patch_file": self.patch_file, "body_file": self.body_file,
                "needs_approval": self.needs_approval}


def needs_approval(settings: StackSettings, kind: ActionKind) -> bool:
    """The stack's `gitops.requireApproval`; unset: every action in prod, none elsewhere."""
    required = settings.gitops.require_approval
    if required is None:
        return settings.environment == "prod"
    return kind in required


def commit_message(proposal: Proposal, base: str) -> str:
    lines = [proposal.title, "", f"Why: {proposal.why}", "", "Evidence:"]
    lines += [f"- {item}" for item in proposal.evidence] or ["- (none recorded)"]
    if proposal.revert:
        lines += ["", "Reverts: " + ", ".join(proposal.revert)]
    lines += ["", f"Preflight-Action: {proposal.kind}", f"Preflight-Service: {proposal.service}",
              f"Preflight-Base: {base}"]
    return "\n".join(lines) + "\n"


def pr_body(proposal: Proposal, outcome: Outcome | None = None, patch: str = "") -> str:
    """The pull-request description in Markdown, for `gh pr create --title ... --body-file FILE`."""
    out = [f"## {text(proposal.title)}", "", text(proposal.why), ""]
    if proposal.changes:
        out += ["### Before / after", "", "| field | before | after |", "|---|---|---|"]
        out += [f"| {code(c.field)} | {code(c.before)} | {code(c.after)} |" for c in proposal.changes]
        out.append("")
    out += ["### Expected saving", ""]
    if proposal.saving_usd_month:
        s = proposal.saving_usd_month
        money = proposal.currency.text
        out += ["| P10 | P50 | P90 |", "|---:|---:|---:|",
                f"| {money(s['p10'])}/month | {money(s['p50'])}/month | {money(s['p90'])}/month |", ""]
        if proposal.currency.code != USD.code:
            out += [proposal.currency.sentence(), ""]
    else:
        out += ["None expected: this change is about correctness or risk, not cost.", ""]
    out += ["### Risk", "", text(proposal.risk or "Not assessed."), "", "### Evidence", ""]
    out += [f"- {_with_code(item)}" for item in proposal.evidence] or ["- (none recorded)"]
    out.append("")
    if proposal.revert:
        out += ["Reverts " + ", ".join(code(c) for c in proposal.revert) + ".", ""]
    if outcome is not None:
        if outcome.status == "prepared":
            out += ["> **Needs a human:** the stack requires approval for this decision; nothing was committed. "
                    f"Apply with `git apply {outcome.patch_file}` or re-run with `--approve`.", ""]
        elif outcome.commit:
            out += [f"Commit {code(outcome.commit)} on branch {code(outcome.branch)} (base {code(outcome.base)}).",
                    ""]
    if patch:
        out += ["<details><summary>Patch</summary>", "", fenced(patch, "diff"), "", "</details>", ""]
    return "\n".join(out)


def _with_code(item: str) -> str:
    """One evidence line: `backticked` parts (queries) as code, the rest as escaped text."""
    parts = item.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: all text
        return text(item)
    return "".join(code(part) if i % 2 else text(part) for i, part in enumerate(parts))


def _slug(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", value).strip("-") or "change"


def act(repo: Git | Path, proposal: Proposal, *, approved: bool, approval_required: bool, out_dir: Path,
        base: str = "HEAD") -> Outcome:
    """Make the proposal a commit on a new branch, or, when `approval_required` and not `approved`, prepare it
    (patch file + PR body in `out_dir`, no branch, no commit). Raises `GitError` / `EditError` (nothing written
    to the repository then)."""
    git = repo if isinstance(repo, Git) else Git.at(Path(repo))
    if bool(proposal.edits) == bool(proposal.revert):
        raise ValueError("a proposal has either edits or commits to revert")
    base_commit = git.head(base)
    commit_it = approved or not approval_required
    wanted = proposal.branch or f"preflight/{proposal.kind}/{_slug(proposal.service)}"
    branch = git.free_branch_name(wanted)
    message = commit_message(proposal, base_commit)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = _slug(branch.replace("/", "-"))
    patch_file, body_file = out_dir / f"{name}.patch", out_dir / f"{name}.md"
    commit: str | None = None
    status: Status = "unchanged"
    patch = ""
    try:
        # A prepared decision works in a detached worktree: no branch, no commit, only the patch and the body.
        with git.worktree(branch if commit_it else None, base_commit) as tree:
            files = _apply(git, tree, proposal)
            patch = git.run("diff", "--cached", "--binary", base_commit, "--", *files, cwd=tree) if files else ""
            if patch and commit_it:
                commit = git.commit_all(tree, files, message)
                status = "committed"
            elif patch:
                status = "prepared"
    finally:
        if commit_it and commit is None:  # failed or nothing to change: leave no empty branch behind
            git.run("branch", "-D", branch, check=False)
    kept_branch = branch if status == "committed" else None
    outcome = Outcome(status, proposal.kind, kept_branch, base_commit, commit, patch,
                      str(patch_file) if patch else None, str(body_file), approval_required, message)
    if patch:
        patch_file.write_text(patch, encoding="utf-8")
    body_file.write_text(pr_body(proposal, outcome, patch), encoding="utf-8")
    return outcome


def _apply(git: Git, tree: Path, proposal: Proposal) -> list[str]:
    """Apply the proposal in the worktree and stage it; the files it changed."""
    if proposal.revert:
        for commit in proposal.revert:
            args = ["revert", "--no-commit", "--no-edit"]
            if len(git.parents(commit)) > 1:
                args += ["-m", "1"]  # a merge: revert what it brought in relative to its first parent
            try:
                git.run(*args, commit, cwd=tree)
            except GitError as exc:
                git.run("revert", "--abort", cwd=tree, check=False)
                raise GitError(f"cannot revert {commit[:12]} cleanly on {git.head()[:12]}: {exc}") from None
        names = git.run("diff", "--cached", "--name-only", "HEAD", cwd=tree)
        return [n for n in names.splitlines() if n]
    files = []
    for item in proposal.edits:
        path = tree / item.file
        try:
            before = read_declaration(path, item.file)
        except EditError as exc:
            raise EditError(f"{exc} at {git.head()[:12]}") from None
        after = apply_edits(before, item.file, item.line, item.edits)
        if after != before:
            write_declaration(path, after)
            git.run("add", "--", item.file, cwd=tree)
            files.append(item.file)
    return files


def outcome_json(outcome: Outcome) -> str:
    return json.dumps(outcome.as_dict(), indent=2)
