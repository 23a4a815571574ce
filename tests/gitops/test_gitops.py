"""The Git action layer on a real repository: ruamel round-trip edits, branches, commits, reverts, approval."""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path

import pytest
import yaml
from guardrails_core.settings import StackConfigError, settings_from_config

from preflight.gitops import (
    REMOVE,
    Change,
    Edit,
    EditError,
    FileEdits,
    Git,
    GitError,
    Proposal,
    act,
    apply_edits,
    needs_approval,
    unified_patch,
)
from tests.gitops.helpers import git, init_repo

ANN = ["spec", "template", "metadata", "annotations"]
TWO_DOCS = """# leading comment
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: a
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/max-scale: '5'  # reviewed
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: b}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/max-scale: "5"
"""


def test_edits_only_the_target_value_in_the_right_document() -> None:
    after = apply_edits(TWO_DOCS, "x.yaml", 12, [Edit([*ANN, "autoscaling.knative.dev/max-scale"], "9", quote=True)])
    before_lines, after_lines = TWO_DOCS.splitlines(), after.splitlines()
    changed = [i for i, (a, b) in enumerate(zip(before_lines, after_lines, strict=True)) if a != b]
    assert changed == [18] and after_lines[18] == '        autoscaling.knative.dev/max-scale: "9"'


def test_keeps_single_quotes_and_comments() -> None:
    after = apply_edits(TWO_DOCS, "x.yaml", 1, [Edit([*ANN, "autoscaling.knative.dev/max-scale"], "7")])
    assert "        autoscaling.knative.dev/max-scale: '7'  # reviewed\n" in after
    assert after.startswith("# leading comment\n")
    assert after.split("---\n", 1)[1] == TWO_DOCS.split("---\n", 1)[1]  # the other document byte for byte


def test_inserts_missing_key_beside_its_siblings_and_removes() -> None:
    after = apply_edits(TWO_DOCS, "x.yaml", 1, [Edit([*ANN, "autoscaling.knative.dev/min-scale"], "0", quote=True)])
    assert '        autoscaling.knative.dev/min-scale: "0"\n        autoscaling.knative.dev/max-scale' in after
    assert list(yaml.safe_load_all(after))[0]["spec"]["template"]["metadata"]["annotations"] == {
        "autoscaling.knative.dev/min-scale": "0", "autoscaling.knative.dev/max-scale": "5"}
    removed = apply_edits(after, "x.yaml", 1, [Edit([*ANN, "autoscaling.knative.dev/min-scale"], REMOVE)])
    assert removed == TWO_DOCS


ODD_LAYOUT = """\
apiVersion: serving.knative.dev/v1
kind:   Service
metadata: {name: svc,  labels: {team: a}}
spec:
  template:
    spec:
      containers:
        - image: x:v1
          args: [ "--a",   "--b" ]
"""


def test_a_layout_ruamel_does_not_reproduce_changes_only_the_edited_lines() -> None:
    after = apply_edits(ODD_LAYOUT, "odd.yaml", None, [
        Edit(("spec", "template", "spec", "containers", 0, "image"), "x:v2"),
        Edit(("spec", "template", "spec", "containers", 0, "env"), [{"name": "MODE", "value": "true"}])])
    changed = [line for line in difflib.ndiff(ODD_LAYOUT.splitlines(), after.splitlines()) if line[:1] in "+-"]
    # the new key goes first in its mapping, so the image line moves from the dash to under it
    assert [line for line in changed if line[0] == "-"] == ["-         - image: x:v1"], changed
    assert all(("env" in line or "MODE" in line or "true" in line or "image: x:v2" in line)
               for line in changed if line[0] == "+"), changed
    for odd in ("kind:   Service", "metadata: {name: svc,  labels: {team: a}}", 'args: [ "--a",   "--b" ]'):
        assert odd in after  # the lines ruamel would re-write are kept as the author wrote them
    container = yaml.safe_load(after)["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "MODE", "value": "true"}] and container["args"] == ["--a", "--b"]
    removed = apply_edits(after, "odd.yaml", None, [Edit(("spec", "template", "spec", "containers", 0, "env", 0),
                                                         REMOVE)])
    assert yaml.safe_load(removed)["spec"]["template"]["spec"]["containers"][0]["env"] == []


def test_seed_declaration_changes_exactly_the_edited_lines(repo: Path) -> None:
    seed = (repo / "services" / "multimodal-ai-inference.yaml").read_text()
    containers = ["spec", "template", "spec", "containers", 0]
    after = apply_edits(seed, "services/multimodal-ai-inference.yaml", 1, [
        Edit([*ANN, "autoscaling.knative.dev/minScale"], "2"),
        Edit([*containers, "resources", "requests", "cpu"], "750m"),
        Edit(["metadata", "annotations", "rollout.apexlogic.com/canary-percent"], "10", quote=True),
    ])
    removed = [line for line in seed.splitlines() if line not in after.splitlines()]
    added = [line for line in after.splitlines() if line not in seed.splitlines()]
    assert removed == ['        autoscaling.knative.dev/minScale: "1"', '              cpu: "1500m"']
    assert added == ['    rollout.apexlogic.com/canary-percent: "10"', '        autoscaling.knative.dev/minScale: "2"',
                     '              cpu: "750m"']


def test_typed_values_and_errors_name_file_and_path(tmp_path: Path) -> None:
    text = "kind: Function\nspec:\n  memoryMib: 1024   # measured\n  handlers: [a, b]\n"
    # an int stays an int; the comment keeps its column
    assert apply_edits(text, "f.yaml", None, [Edit(["spec", "memoryMib"], 448)]) == (
        "kind: Function\nspec:\n  memoryMib: 448    # measured\n  handlers: [a, b]\n")
    with pytest.raises(EditError, match=r"f\.yaml:\d+: spec\.memoryMib\.x\.y: spec\.memoryMib is not a mapping"):
        apply_edits(text, "f.yaml", None, [Edit(["spec", "memoryMib", "x", "y"], 1)])
    with pytest.raises(EditError, match=r"f\.yaml: not valid YAML"):
        apply_edits("a: [\n", "f.yaml", None, [Edit(["a"], 1)])
    (tmp_path / "f.yaml").write_text(text)
    patch = unified_patch(tmp_path, "f.yaml", None, [Edit(["spec", "memoryMib"], 448)])
    assert patch.startswith("--- a/f.yaml\n+++ b/f.yaml\n") and "+  memoryMib: 448    # measured\n" in patch
    assert (tmp_path / "f.yaml").read_text() == text  # a patch never writes the file


def _proposal(**overrides) -> Proposal:
    edit = FileEdits("services/svc.yaml", 1, (Edit([*ANN, "autoscaling.knative.dev/min-scale"], "0", quote=True),))
    base = {"kind": "rightsize", "service": "svc", "title": "rightsize svc: min-scale 2 -> 0",
            "why": "no traffic needs a warm replica", "evidence": ["requests/hour p99 = 0.4 (query: x, window: 14d)"],
            "edits": [edit], "changes": [Change("min-scale", "2", "0")],
            "saving_usd_month": {"p10": 20.0, "p50": 31.5, "p90": 44.0}, "risk": "cold starts on first request"}
    return Proposal(**{**base, **overrides})


SVC = """apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: svc
spec:
  template:
    metadata:
      annotations:
        # reviewed by the platform team
        autoscaling.knative.dev/min-scale: "2"
    spec:
      containers:
        - image: ghcr.io/apexlogic/svc@sha256:0000000000000000000000000000000000000000000000000000000000000000
"""


def test_commit_on_a_new_branch_main_and_checkout_untouched(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo", {"services/svc.yaml": SVC})
    main = git(root, "rev-parse", "main")
    outcome = act(root, _proposal(), approved=False, approval_required=False, out_dir=tmp_path / "out")
    assert outcome.status == "committed" and outcome.branch == "preflight/rightsize/svc"
    assert git(root, "rev-parse", "main") == main and git(root, "status", "--porcelain") == ""
    assert git(root, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(root, "rev-parse", f"{outcome.commit}^") == main
    message = git(root, "log", "-1", "--format=%B", outcome.commit)
    assert message.startswith("rightsize svc: min-scale 2 -> 0\n\nWhy: no traffic needs a warm replica\n")
    assert "Evidence:\n- requests/hour p99 = 0.4 (query: x, window: 14d)" in message
    assert f"Preflight-Base: {main}" in message
    shown = git(root, "show", f"{outcome.commit}:services/svc.yaml")
    assert '        # reviewed by the platform team\n        autoscaling.knative.dev/min-scale: "0"\n' in shown
    body = Path(outcome.body_file).read_text()
    assert "| <code>min-scale</code> | <code>2</code> | <code>0</code> |" in body
    assert "| $20.00/month | $31.50/month | $44.00/month |" in body and "### Risk" in body
    # a second identical action gets its own branch, never overwrites the first
    again = act(root, _proposal(), approved=False, approval_required=False, out_dir=tmp_path / "out")
    assert again.branch == "preflight/rightsize/svc-2"
    # the patch applies to main in a fresh clone
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    subprocess.run(["git", "apply", "--check", outcome.patch_file], cwd=clone, check=True)


def test_needs_a_human_prepares_but_commits_nothing(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo", {"services/svc.yaml": SVC})
    refs = git(root, "for-each-ref")
    outcome = act(root, _proposal(), approved=False, approval_required=True, out_dir=tmp_path / "out")
    assert outcome.status == "prepared" and outcome.commit is None and outcome.branch is None
    assert git(root, "for-each-ref") == refs and git(root, "worktree", "list").count("\n") == 0
    assert "Needs a human" in Path(outcome.body_file).read_text()
    subprocess.run(["git", "apply", "--check", outcome.patch_file], cwd=root, check=True)
    approved = act(root, _proposal(), approved=True, approval_required=True, out_dir=tmp_path / "out")
    assert approved.status == "committed" and approved.commit


def test_revert_exactly_the_given_commit(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo", {"services/svc.yaml": SVC})
    canary = SVC.replace("  name: svc\n", "  name: svc\n  annotations:\n    rollout.apexlogic.com/canary-percent: "
                                          '"10"\n')
    (root / "services/svc.yaml").write_text(canary)
    git(root, "commit", "-qam", "canary svc 10%")
    introduced = git(root, "rev-parse", "HEAD")
    (root / "README").write_text("later unrelated change\n")
    git(root, "add", "README")
    git(root, "commit", "-qm", "docs")
    main = git(root, "rev-parse", "main")
    outcome = act(root, _proposal(kind="rollback", edits=[], revert=[introduced], title="roll back svc canary"),
                  approved=False, approval_required=False, out_dir=tmp_path / "out")
    assert git(root, "rev-parse", "main") == main
    assert git(root, "show", f"{outcome.commit}:services/svc.yaml") == SVC.strip()  # git() strips
    assert git(root, "show", f"{outcome.commit}:README") == "later unrelated change"
    assert f"Reverts: {introduced}" in git(root, "log", "-1", "--format=%B", outcome.commit)
    # a revert that conflicts leaves no branch
    (root / "services/svc.yaml").write_text(canary.replace('"10"', '"25"'))
    git(root, "commit", "-qam", "step to 25%")
    before = git(root, "for-each-ref")
    with pytest.raises(GitError, match="cannot revert"):
        act(root, _proposal(kind="rollback", edits=[], revert=[introduced]), approved=True, approval_required=True,
            out_dir=tmp_path / "out")
    assert git(root, "for-each-ref") == before


def test_refuses_protected_branches_and_non_repositories(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo", {"services/svc.yaml": SVC})
    with pytest.raises(GitError, match="refusing to write branch 'main'"):
        act(root, _proposal(branch="main"), approved=True, approval_required=False, out_dir=tmp_path / "out")
    (tmp_path / "plain").mkdir()
    with pytest.raises(GitError, match="not inside a git repository"):
        Git.at(tmp_path / "plain")


def test_approval_setting_default_and_validation() -> None:
    prod = settings_from_config({"guardrails:environment": "prod"}, "stacks/Pulumi.prod.yaml")
    dev = settings_from_config({"guardrails:environment": "dev"}, "stacks/Pulumi.dev.yaml")
    assert needs_approval(prod, "rollback") and needs_approval(prod, "promote") and not needs_approval(dev, "promote")
    only = settings_from_config({"guardrails:environment": "dev",
                                 "guardrails:gitops": {"requireApproval": ["rollback"]}}, "s")
    assert needs_approval(only, "rollback") and not needs_approval(only, "promote")
    with pytest.raises(StackConfigError, match=r"guardrails:gitops\.requireApproval\.0: Input should be 'promote', "
                                               r"'rollback', 'rightsize' or 'cleanup' \(found 'rolback'\)"):
        settings_from_config({"guardrails:environment": "dev", "guardrails:gitops": {"requireApproval": ["rolback"]}},
                             "stacks/Pulumi.dev.yaml")
