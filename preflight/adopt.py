"""`adopt`: the edit to the declarations that makes Git say what runs, as a unified diff for `git apply`.

The edits are made by the one declaration editor (`preflight.gitops.yaml_edit`: ruamel.yaml round trip, comments,
quoting and layout kept, only the edited lines changed, the result checked against the data). A field set by an
overlay is edited in the overlay. Nothing is written: the diff is shown, the user applies it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflight.gitops.yaml_edit import REMOVE, Edit, EditError, PathKey, apply_edits, diff, read_declaration


class AdoptError(ValueError):
    """The declaration cannot be edited at this field (names the file and the field)."""


@dataclass(frozen=True)
class FieldEdit:
    file: str  # relative to the project directory
    line: int  # first line of the document to edit (a file may hold several)
    path: Sequence[PathKey]
    value: Any  # None: remove the field


def adopt_patch(project_dir: Path, edits: Sequence[FieldEdit], path_prefix: str = "") -> str:
    """One unified diff over every edited file (paths `a/<prefix><file>`, as `git apply` at the repo root wants)."""
    by_file: dict[str, dict[int, list[Edit]]] = {}
    for edit in edits:
        by_file.setdefault(edit.file, {}).setdefault(edit.line, []).append(
            Edit(edit.path, REMOVE if edit.value is None else edit.value))
    patches = []
    for file in sorted(by_file):
        try:
            before = read_declaration(Path(project_dir) / file, file)
            after = before
            for line, document_edits in sorted(by_file[file].items()):
                after = apply_edits(after, file, line, document_edits)
        except EditError as exc:
            raise AdoptError(str(exc)) from None
        patches.append(diff(f"{path_prefix}{file}", before, after))
    return "".join(patches)
