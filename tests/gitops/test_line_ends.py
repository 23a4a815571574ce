"""Edits keep a declaration's line ends, and every patch applies with the real `git apply`: a file whose lines end
in CRLF (written on Windows, or with `core.autocrlf=false`) stays CRLF, new lines included, whichever editor makes
the edit (splice or round trip); a file mixing CRLF and LF is refused, not rewritten; a last line without a line
end is diffed as git diffs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from preflight.gitops import patch_workers, yaml_edit
from preflight.gitops.yaml_edit import Edit, EditError, edit_file, unified_patch

DECLARATION = ("kind: Function\n"
               "name: invoice-parser\n"
               "spec:\n"
               "  memoryMib: 1024  # sized by hand\n"
               "  timeout: 30\n")
EDITS = [Edit(["spec", "memoryMib"], 512), Edit(["spec", "architecture"], "arm64")]


def _repository(tmp_path: Path, name: str, content: bytes) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / name).write_bytes(content)
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@example.com", "-c", "user.name=t",
           "-c", "core.autocrlf=false"]
    subprocess.run([*git, "add", name], check=True)
    subprocess.run([*git, "commit", "-qm", "declaration"], check=True)
    return tmp_path


def _git_apply(repo: Path, patch: str) -> None:
    (repo / "change.patch").write_bytes(patch.encode("utf-8"))
    subprocess.run(["git", "-C", str(repo), "-c", "core.autocrlf=false", "apply", "change.patch"], check=True,
                   capture_output=True)


@pytest.fixture(params=["splice", "round trip"])
def editor(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "round trip":
        monkeypatch.setattr(yaml_edit, "splice_document", lambda *args: None)
    return request.param


def test_a_crlf_declaration_stays_crlf_and_its_patch_applies(tmp_path: Path, editor: str) -> None:
    crlf = DECLARATION.replace("\n", "\r\n").encode()
    repo = _repository(tmp_path, "f.yaml", crlf)
    patch = unified_patch(repo, "f.yaml", 1, EDITS)
    _git_apply(repo, patch)
    applied = (repo / "f.yaml").read_bytes()
    assert applied.count(b"\r\n") == applied.count(b"\n") == 6  # every line, the new one too
    assert b"  architecture: arm64\r\n" in applied and b"  memoryMib: 512   # sized by hand\r\n" in applied
    (repo / "f.yaml").write_bytes(crlf)
    edit_file(repo / "f.yaml", "f.yaml", 1, EDITS)  # the commit path writes the same bytes the patch gives
    assert (repo / "f.yaml").read_bytes() == applied


def test_a_declaration_without_a_last_line_end_gets_a_patch_git_applies(tmp_path: Path, editor: str) -> None:
    repo = _repository(tmp_path, "f.yaml", DECLARATION.rstrip("\n").encode())
    patch = unified_patch(repo, "f.yaml", 1, [Edit(["spec", "timeout"], 60)])
    assert "\\ No newline at end of file" in patch
    _git_apply(repo, patch)
    assert (repo / "f.yaml").read_bytes().endswith(b"  timeout: 60")


def test_mixed_line_ends_are_refused_and_the_file_left_alone(tmp_path: Path) -> None:
    mixed = DECLARATION.replace("\n", "\r\n", 2).encode()
    path = tmp_path / "f.yaml"
    path.write_bytes(mixed)
    with pytest.raises(EditError, match=r"f\.yaml:3: its lines end in both CRLF and LF \(line 3 unlike line 1"):
        edit_file(path, "f.yaml", 1, EDITS)
    assert path.read_bytes() == mixed
    lone = b"kind: Function\nname: 'a\rb'\nspec:\n  memoryMib: 1024\n"
    path.write_bytes(lone)
    with pytest.raises(EditError, match=r"f\.yaml:2: line 2 holds a carriage return \(CR\) that ends no line"):
        edit_file(path, "f.yaml", 1, EDITS)
    assert path.read_bytes() == lone
    path.write_bytes(mixed)
    # as a rightsizing recommendation: its patch_error, no patch
    kind, text = patch_workers.render_one(tmp_path, "f.yaml", 1, {"changes": [
        {"path": ["spec", "memoryMib"], "value": 512}]})[1:]
    assert kind == "patch_error" and "both CRLF and LF" in text
