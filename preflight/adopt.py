"""`adopt`: the edit to the declarations that makes Git say what runs, as a unified diff for `git apply`.

ruamel.yaml round trip keeps comments, key order and quoting; the indentation settings are taken from the file
itself (the first of the usual layouts that reproduces the unedited file exactly), so only the edited lines change.
A field set by an overlay is edited in the overlay. Nothing is written: the diff is shown, the user applies it.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

PathKey = str | int
# (mapping indent, sequence indent, dash offset): `- item` under its key, indented, or 4/2 as kubectl writes it.
_PROBE = YAML(typ="safe", pure=True)
_LAYOUTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (2, 4, 0), (4, 4, 0))


class AdoptError(ValueError):
    """The declaration cannot be edited at this field (names the file and the field)."""


@dataclass(frozen=True)
class FieldEdit:
    file: str  # relative to the project directory
    line: int  # first line of the document to edit (a file may hold several)
    path: Sequence[PathKey]
    value: Any  # None: remove the field


def _yaml(layout: tuple[int, int, int]) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long values
    yaml.indent(mapping=layout[0], sequence=layout[1], offset=layout[2])
    return yaml


def _dump(yaml: YAML, docs: list[Any], explicit_start: bool) -> str:
    out = io.StringIO()
    yaml.explicit_start = explicit_start
    yaml.dump_all(docs, out)
    return out.getvalue()


def _load(text: str, file: str) -> tuple[YAML, list[Any], bool]:
    """The documents, and a YAML instance that writes this file back unchanged (or as close as any layout gets)."""
    explicit = text.lstrip().startswith("---")
    best: tuple[int, YAML, list[Any]] | None = None
    for layout in _LAYOUTS:
        yaml = _yaml(layout)
        try:
            docs = list(yaml.load_all(text))
        except Exception as exc:  # noqa: BLE001 - ruamel raises many types; all mean "not editable YAML"
            raise AdoptError(f"{file}: not valid YAML ({exc.__class__.__name__})") from None
        written = _dump(yaml, docs, explicit)
        differing = sum(1 for a, b in zip(text.splitlines(), written.splitlines(), strict=False) if a != b)
        differing += abs(len(text.splitlines()) - len(written.splitlines()))
        if best is None or differing < best[0]:
            best = (differing, yaml, docs)
        if differing == 0:
            break
    assert best is not None
    return best[1], best[2], explicit


def _document(docs: list[Any], line: int, file: str) -> CommentedMap:
    """The document that starts at `line` (its first key), else the last one starting before it."""
    candidates = [(d.lc.line + 1, d) for d in docs if isinstance(d, CommentedMap)]
    before = [c for c in candidates if c[0] <= line]
    if not candidates:
        raise AdoptError(f"{file}: no YAML mapping to edit")
    return (before[-1] if before else candidates[0])[1]


def _styled(old: Any, new: Any) -> Any:
    """The new value, quoted the way the old one was (Knative annotation values are strings: keep them quoted)."""
    if isinstance(new, str):
        if isinstance(old, DoubleQuotedScalarString):
            return DoubleQuotedScalarString(new)
        if isinstance(old, SingleQuotedScalarString):
            return SingleQuotedScalarString(new)
        if old is None or isinstance(old, str):
            return DoubleQuotedScalarString(new) if _needs_quotes(new) else new
    return _plain(new)


def _needs_quotes(text: str) -> bool:
    """A string YAML would read as something else (a number, a bool, null) must be quoted to stay a string."""
    try:
        value = _PROBE.load(text)
    except Exception:  # noqa: BLE001 - anything unparseable plain is quoted
        return True
    return not isinstance(value, str) or value != text


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            out[k] = _plain(v)
        return out
    if isinstance(value, list):
        return CommentedSeq(_plain(v) for v in value)
    if isinstance(value, str) and _needs_quotes(value):
        return DoubleQuotedScalarString(value)
    return value


def _apply(doc: CommentedMap, edit: FieldEdit) -> None:
    where = ".".join(str(p) for p in edit.path)
    node: Any = doc
    for depth, key in enumerate(edit.path[:-1]):
        nxt = edit.path[depth + 1]
        if isinstance(node, dict):
            if key not in node or node[key] is None:
                if edit.value is None:
                    return  # removing a field the declaration never set: nothing to do
                node[key] = CommentedMap() if isinstance(nxt, str) else CommentedSeq()
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            raise AdoptError(f"{edit.file}:{edit.line}: {where}: {key!r} cannot be reached in the declaration")
    last = edit.path[-1]
    if isinstance(node, dict):
        if edit.value is None:
            node.pop(last, None)
        else:
            node[last] = _styled(node.get(last), edit.value)
    elif isinstance(node, list) and isinstance(last, int) and 0 <= last <= len(node):
        if edit.value is None:
            if last < len(node):
                del node[last]
        elif last == len(node):
            node.append(_plain(edit.value))
        else:
            node[last] = _styled(node[last], edit.value)
    else:
        raise AdoptError(f"{edit.file}:{edit.line}: {where}: the parent is not a mapping or list in the declaration")


def adopt_patch(project_dir: Path, edits: Sequence[FieldEdit], path_prefix: str = "") -> str:
    """One unified diff over every edited file (paths `a/<prefix><file>`, as `git apply` at the repo root wants)."""
    by_file: dict[str, list[FieldEdit]] = {}
    for edit in edits:
        by_file.setdefault(edit.file, []).append(edit)
    patches = []
    for file in sorted(by_file):
        try:
            before = (Path(project_dir) / file).read_text(encoding="utf-8")
        except OSError as exc:
            raise AdoptError(f"{file}: cannot read the declaration ({exc.strerror})") from None
        yaml, docs, explicit = _load(before, file)
        unedited = _dump(yaml, docs, explicit)
        for edit in by_file[file]:
            _apply(_document(docs, edit.line, file), edit)
        after = _dump(yaml, docs, explicit)
        if unedited != before:
            # The layout is not exactly reproducible: diff the re-written original against the edit, so the patch
            # holds only the edited lines, then carry it onto the original text.
            after = _carry(before, unedited, after)
        patches.append("".join(difflib.unified_diff(before.splitlines(keepends=True),
                                                    after.splitlines(keepends=True),
                                                    fromfile=f"a/{path_prefix}{file}",
                                                    tofile=f"b/{path_prefix}{file}")))
    return "".join(patches)


def _carry(original: str, rewritten: str, edited: str) -> str:
    """Apply the rewritten→edited line changes to the original text (equal regions keep the original's lines)."""
    a, b, o = rewritten.splitlines(keepends=True), edited.splitlines(keepends=True), original.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    out: list[str] = []
    # Map rewritten lines to original lines where they correspond one to one.
    to_original = dict(zip(range(len(a)), range(len(o)), strict=False)) if len(a) == len(o) else {}
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(o[to_original[i]] if i in to_original else a[i] for i in range(i1, i2))
        else:
            out.extend(b[j1:j2])
    return "".join(out)
