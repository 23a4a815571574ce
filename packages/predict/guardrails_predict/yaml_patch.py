"""Textual edits of a declaration file, located with libyaml node marks, returned as a unified diff.

Only the edited value changes: comments, quoting style, key order and indentation elsewhere are untouched
(the parser finds the line and column; the edit itself is a string splice).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

PathKey = str | int
_PLAIN_VALUE = re.compile(r"^(?P<value>[^#]*?)(?P<rest>\s+#.*)?$")


class PatchError(ValueError):
    """The declaration cannot be edited at the requested path (the message names file and path)."""


@dataclass(frozen=True)
class Edit:
    path: Sequence[PathKey]  # e.g. ["spec", "memoryMib"]
    value: str  # rendered YAML scalar text without quotes
    quote: bool = False  # force a double-quoted string (Knative annotations are strings)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _docs(text: str, file: str) -> list[yaml.Node]:
    """The node tree of every document (libyaml: marks give line and column, ~20× faster than a round trip)."""
    loader = _Loader(text)
    docs: list[yaml.Node] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                docs.append(node)
    except yaml.YAMLError as exc:
        raise PatchError(f"{file}: not valid YAML ({exc})") from exc
    finally:
        loader.dispose()
    return docs


def _pick_document(docs: list[yaml.Node], line: int | None, file: str) -> yaml.MappingNode:
    candidates = [(d.start_mark.line + 1, d) for d in docs if isinstance(d, yaml.MappingNode)]
    if not candidates:
        raise PatchError(f"{file}: no YAML mapping document to edit")
    if line is None:
        return candidates[0][1]
    before = [c for c in candidates if c[0] <= line + 1]  # the source line may be the `---` before the doc
    return (before[-1] if before else candidates[0])[1]


def _child(node: yaml.Node, key: PathKey) -> tuple[yaml.Node, yaml.Node] | None:
    """(key node, value node) of `key` in a mapping, or (item, item) of an index in a sequence."""
    if isinstance(node, yaml.MappingNode):
        return next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(key)), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key], node.value[key]
    return None


def _render(value: str, quote: bool, original: str) -> str:
    if quote or original.startswith('"'):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if original.startswith("'"):
        return "'" + value.replace("'", "''") + "'"
    return value


def apply_edits(text: str, file: str, line: int | None, edits: Sequence[Edit]) -> str:
    lines = text.splitlines(keepends=True)
    for edit in edits:  # re-parse after each edit: line numbers shift when a key is inserted
        node: yaml.Node = _pick_document(_docs("".join(lines), file), line, file)
        where = ".".join(str(p) for p in edit.path)
        for key in edit.path[:-1]:
            found = _child(node, key)
            if found is None:
                raise PatchError(f"{file}: {where}: {key!r} not found in the declaration")
            node = found[1]
        last = edit.path[-1]
        if not isinstance(node, yaml.MappingNode):
            raise PatchError(f"{file}: {where}: parent is not a mapping")
        found = _child(node, last)
        if found is not None:
            mark = found[1].start_mark
            row, col = mark.line, mark.column
            current = lines[row]
            body = current[col:].rstrip("\r\n")
            ending = current[len(current.rstrip("\r\n")):]
            match = _PLAIN_VALUE.match(body)
            original = match["value"] if match else body
            rest = (match["rest"] or "") if match else ""
            lines[row] = current[:col] + _render(edit.value, edit.quote, original) + rest + ending
        else:
            if not node.value or node.flow_style:
                raise PatchError(f"{file}: {where}: cannot insert into an empty/flow mapping")
            mark = node.value[0][0].start_mark
            row, col = mark.line, mark.column
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
