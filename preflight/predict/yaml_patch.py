"""Textual edits of a declaration file, located with ruamel.yaml, returned as a unified diff.

Only the edited value changes: comments, quoting style, key order and indentation elsewhere are untouched
(ruamel finds the line and column; the edit itself is a string splice).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

PathKey = str | int
_PLAIN_VALUE = re.compile(r"^(?P<value>[^#]*?)(?P<rest>\s+#.*)?$")


class PatchError(ValueError):
    """The declaration cannot be edited at the requested path (the message names file and path)."""


@dataclass(frozen=True)
class Edit:
    path: Sequence[PathKey]  # e.g. ["spec", "memoryMib"]
    value: str  # rendered YAML scalar text without quotes
    quote: bool = False  # force a double-quoted string (Knative annotations are strings)


def _docs(text: str, file: str) -> list[object]:
    yaml = YAML(typ="rt")
    try:
        return [d for d in yaml.load_all(StringIO(text)) if d is not None]
    except YAMLError as exc:
        raise PatchError(f"{file}: not valid YAML ({exc})") from exc


def _pick_document(docs: list[object], line: int | None, file: str) -> object:
    candidates = [(d.lc.line + 1, d) for d in docs if hasattr(d, "lc")]  # type: ignore[attr-defined]
    if not candidates:
        raise PatchError(f"{file}: no YAML mapping document to edit")
    if line is None:
        return candidates[0][1]
    before = [c for c in candidates if c[0] <= line + 1]  # the source line may be the `---` before the doc
    return (before[-1] if before else candidates[0])[1]


def _render(value: str, quote: bool, original: str) -> str:
    if quote or original.startswith('"'):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if original.startswith("'"):
        return "'" + value.replace("'", "''") + "'"
    return value


def apply_edits(text: str, file: str, line: int | None, edits: Sequence[Edit]) -> str:
    lines = text.splitlines(keepends=True)
    for edit in edits:  # re-parse after each edit: line numbers shift when a key is inserted
        doc = _pick_document(_docs("".join(lines), file), line, file)
        node = doc
        where = ".".join(str(p) for p in edit.path)
        for key in edit.path[:-1]:
            try:
                node = node[key]  # type: ignore[index]
            except (KeyError, IndexError, TypeError) as exc:
                raise PatchError(f"{file}: {where}: {key!r} not found in the declaration") from exc
        last = edit.path[-1]
        if not hasattr(node, "lc"):
            raise PatchError(f"{file}: {where}: parent is not a mapping")
        if last in node:  # type: ignore[operator]
            row, col = node.lc.value(last)  # type: ignore[attr-defined]
            current = lines[row]
            body = current[col:].rstrip("\r\n")
            ending = current[len(current.rstrip("\r\n")):]
            match = _PLAIN_VALUE.match(body)
            original = match["value"] if match else body
            rest = (match["rest"] or "") if match else ""
            lines[row] = current[:col] + _render(edit.value, edit.quote, original) + rest + ending
        else:
            keys = list(node.keys())  # type: ignore[attr-defined]
            if not keys:
                raise PatchError(f"{file}: {where}: cannot insert into an empty/flow mapping")
            row, col = node.lc.key(keys[0])  # type: ignore[attr-defined]
            newline = "\n" if not lines[row].endswith("\r\n") else "\r\n"
            lines.insert(row, " " * col + f"{last}: {_render(edit.value, edit.quote, '')}{newline}")
    return "".join(lines)


def unified_patch(project_dir: Path, file: str, line: int | None, edits: Sequence[Edit]) -> str:
    """A `git apply`-able diff of `file` (relative to the project) with `edits` applied."""
    path = project_dir / file
    try:
        before = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PatchError(f"{file}: cannot read the declaration ({exc.strerror})") from exc
    after = apply_edits(before, file, line, edits)
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"a/{file}", tofile=f"b/{file}"))
