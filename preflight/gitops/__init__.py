"""The one place preflight acts through Git: edit a declaration, commit on a branch, revert, write the PR body.

Contract (what `rollout`, `observe`, rightsizing and idle cleanup code against):

* **Edit a declaration** - `Edit(path, value, quote=False)` sets one field; `REMOVE` as the value deletes it;
  missing mappings on the way are created. `apply_edits(text, file, line, edits) -> str` edits the document of a
  multi-document file that starts at or before `line` (the declaration's `line`, 1-based), with ruamel.yaml's
  round trip: comments, quoting style (`'5'` stays single-quoted), key order and indentation are kept, the other
  documents are untouched byte for byte, and the result must load to exactly the old data plus the edits
  (`EditError` naming the file and field path otherwise). `unified_patch(project_dir, file, line, edits)` is the
  same as a `git apply`-able diff, the file untouched. `render_recommendation_patches(predictions, project_dir)`
  turns the prediction library's `recommendation.edits` into `recommendation.patch`.
* **Act** - build a `Proposal(kind, service, title, why, evidence, edits=[FileEdits(file, line, (Edit, ...))] |
  revert=[commit, ...], changes=[Change(field, before, after)], saving_usd_month={p10,p50,p90}, risk)` and call
  `act(repo_dir, proposal, approved=args.approve, approval_required=needs_approval(settings, kind),
  out_dir=project/"out"/"gitops")`. It works in a temporary `git worktree` at HEAD, so the caller's checkout,
  its index and main are never written and nothing is pushed:
    - approval not required, or `approved`: a new branch `preflight/<kind>/<service>` (`-2`, `-3`... if taken;
      `main`/`master`/... refused) with one commit whose message is the title, `Why:`, `Evidence:` lines and
      `Preflight-Action/-Service/-Base` trailers; `Outcome.status == "committed"`, `.branch`, `.commit`.
    - approval required and not approved: `status == "prepared"`: no branch, no commit; the patch is written to
      `out_dir/<branch>.patch` (`git apply` it on the base) and the body says a human must decide.
    - nothing to change: `status == "unchanged"`, no branch.
  Every outcome writes `out_dir/<branch>.md`, the PR body (`gh pr create --title "<title>" --body-file <it>`):
  before/after table, expected saving P10/P50/P90, risk, evidence, the patch. `Outcome.patch` is the diff.
  Rollbacks put the commits to revert in `revert` (newest first; merges are reverted against their first parent);
  a revert that does not apply cleanly raises `GitError` and leaves nothing behind.
* **Who must approve** - `needs_approval(settings, kind)`: stack setting `guardrails:gitops.requireApproval`
  (a list of `promote`, `rollback`, `rightsize`, `cleanup`); unset means every kind in prod and none elsewhere.
  `guardrails:gitops.headroom` (default 0.3) is the margin rightsizing keeps above the observed P99.
* Errors: `GitError` (not a repository, git failed, protected branch) and `EditError` (field cannot be edited)
  are user-facing messages; a CLI prints them and exits 2.
"""

# Loaded on first use (PEP 562): a patch worker (`patch_workers`) imports only the editor, not the Git actions and
# the report they write.
_EXPORTS = {
    "preflight.gitops.actions": ("ACTION_KINDS", "Change", "FileEdits", "Outcome", "Proposal", "act",
                                 "commit_message", "needs_approval", "pr_body"),
    "preflight.gitops.git": ("Git", "GitError"),
    "preflight.gitops.recommendations": ("render_recommendation_patches",),
    "preflight.gitops.yaml_edit": ("REMOVE", "Edit", "EditError", "apply_edits", "diff", "edit_file",
                                   "unified_patch"),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> object:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value
