"""Edits of a declaration file with ruamel.yaml's round trip: comments, quoting, key order and indentation kept.

Only the document being edited is round-tripped (the other documents of a multi-document file are kept byte for
byte); its indentation is measured from the text and reused, lines are never wrapped, and the result is checked:
it must load to exactly the original data with the edits applied, or `EditError` says which file and path.
"""

from __future__ import annotations

import difflib
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, ScalarString

PathKey = str | int
Scalar = str | int | float | bool
_DOCUMENT_START = re.compile(r"^---(?=[ \t\r\n]|$)")


class EditError(ValueError):
    """The declaration cannot be edited as asked (the message names the file and the field path)."""


class _Remove:
    def __repr__(self) -> str:
        return "REMOVE"


REMOVE: Any = _Remove()  # `Edit(path, REMOVE)` deletes the key


@dataclass(frozen=True)
class Edit:
    """Set `path` (e.g. `("spec", "template", "metadata", "annotations", "autoscaling.knative.dev/min-scale")`)
    to `value`. Missing mappings on the way are created. A value replacing a quoted string keeps its quote style;
    `quote=True` forces a double-quoted string (Knative annotation values are strings)."""

    path: tuple[PathKey, ...]
    value: Scalar | _Remove
    quote: bool = False

    def __init__(self, path: Sequence[PathKey], value: Scalar | _Remove, quote: bool = False) -> None:
        object.__setattr__(self, "path", tuple(path))
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "quote", quote)

    @property
    def where(self) -> str:
        return ".".join(str(p) for p in self.path)


def _split_documents(text: str) -> list[tuple[int, str]]:
    """(1-based first line, text) of each `---`-separated chunk; a chunk keeps its own `---` line."""
    chunks: list[tuple[int, list[str]]] = [(1, [])]
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if _DOCUMENT_START.match(line) and chunks[-1][1]:
            chunks.append((number, []))
        chunks[-1][1].append(line)
    return [(start, "".join(lines)) for start, lines in chunks]


def _has_content(chunk: str) -> bool:
    return any(s and not s.startswith("#") and not _DOCUMENT_START.match(s) and s != "..."
               for s in (line.strip() for line in chunk.splitlines()))


def _pick(chunks: list[tuple[int, str]], line: int | None, file: str) -> int:
    candidates = [i for i, (_, chunk) in enumerate(chunks) if _has_content(chunk)]
    if not candidates:
        raise EditError(f"{file}: no YAML document to edit")
    if line is None:
        return candidates[0]
    before = [i for i in candidates if chunks[i][0] <= line]
    return before[-1] if before else candidates[0]


def _indentation(body: str) -> tuple[int, int]:
    """(mapping indent, dash offset of block sequences) as the file writes them: the most common step from a
    `key:` line to the line under it (2 and 0 when the file shows none)."""
    lines = [ln for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    mapping: Counter[int] = Counter()
    offset: Counter[int] = Counter()
    for line, nxt in zip(lines, lines[1:], strict=False):
        stripped = line.rstrip()
        if not stripped.endswith(":") or stripped.lstrip().startswith("- "):
            continue
        step = (len(nxt) - len(nxt.lstrip())) - (len(line) - len(line.lstrip()))
        if nxt.lstrip().startswith("- "):
            offset[max(step, 0)] += 1
        elif step > 0:
            mapping[step] += 1
    return (mapping.most_common(1)[0][0] if mapping else 2), (offset.most_common(1)[0][0] if offset else 0)


def _yaml(body: str) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 16  # never wrap a long value (an image reference, a PromQL expression)
    indent, offset = _indentation(body)
    yaml.indent(mapping=indent, sequence=offset + 2, offset=offset)
    return yaml


def _new_value(old: Any, edit: Edit) -> Any:
    if edit.quote:
        return DoubleQuotedScalarString(str(edit.value))
    if isinstance(old, ScalarString) and isinstance(edit.value, str | int | float):
        return type(old)(str(edit.value))  # keep the file's quoting style ('5' stays single-quoted)
    return edit.value


def _apply(data: Any, edit: Edit, file: str) -> None:
    node = data
    for depth, key in enumerate(edit.path[:-1]):
        if isinstance(node, CommentedSeq | list):
            if not isinstance(key, int) or not 0 <= key < len(node):
                raise EditError(f"{file}: {edit.where}: no item {key!r} in the list at "
                                f"{'.'.join(map(str, edit.path[:depth])) or '<root>'}")
            node = node[key]
            continue
        if not isinstance(node, dict):
            raise EditError(f"{file}: {edit.where}: {'.'.join(map(str, edit.path[:depth]))} is not a mapping")
        if key not in node or node[key] is None:
            if edit.value is REMOVE:
                return  # nothing to remove
            node[key] = CommentedMap()
        node = node[key]
    last = edit.path[-1]
    if isinstance(node, CommentedSeq | list):
        if not isinstance(last, int) or not 0 <= last < len(node) or edit.value is REMOVE:
            raise EditError(f"{file}: {edit.where}: can only replace an existing list item")
        node[last] = _new_value(node[last], edit)
        return
    if not isinstance(node, dict):
        raise EditError(f"{file}: {edit.where}: parent is not a mapping")
    if edit.value is REMOVE:
        node.pop(last, None)
    elif last in node:
        node[last] = _new_value(node[last], edit)
    elif isinstance(node, CommentedMap):
        node.insert(0, last, _new_value(None, edit))  # first, beside its siblings, before any trailing comment
    else:
        node[last] = _new_value(None, edit)


def _plain(value: Any) -> Any:
    """The data as plain Python (for the consistency check)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, ScalarString):
        return str(value)
    return value


def _safe_load(text: str) -> Any:
    """The data of `text` read by ruamel's safe loader: its libyaml parser (4x faster than the pure one; a plan
    renders one patch per rightsized service), the pure parser when libyaml cannot read the text."""
    try:
        return YAML(typ="safe").load(text)
    except YAMLError:
        return YAML(typ="safe", pure=True).load(text)


def apply_edits(text: str, file: str, line: int | None, edits: Sequence[Edit]) -> str:
    """`text` with `edits` applied to the document starting at or before `line` (1-based; None: the first)."""
    if not edits:
        return text
    chunks = _split_documents(text)
    index = _pick(chunks, line, file)
    start, chunk = chunks[index]
    header = ""
    if _DOCUMENT_START.match(chunk):
        header, _, body = chunk.partition("\n")
        header += "\n"
    else:
        body = chunk
    try:
        yaml = _yaml(body)
        data = yaml.load(body)
        expected = _safe_load(body)
    except YAMLError as exc:
        raise EditError(f"{file}: not valid YAML ({str(exc)[:300]})") from exc
    if not isinstance(data, CommentedMap):
        raise EditError(f"{file}:{start}: the document is not a mapping")
    for edit in edits:
        _apply(data, edit, file)
        _apply(expected, edit, file)
    out = io.StringIO()
    yaml.dump(data, out)
    new_body = out.getvalue()
    if body.endswith("\n") is False and new_body.endswith("\n"):
        new_body = new_body[:-1]
    if _safe_load(new_body) != _plain(expected):
        raise EditError(f"{file}:{start}: the round trip did not reproduce the declaration; not edited")
    chunks[index] = (start, header + new_body)
    return "".join(c for _, c in chunks)


def edit_file(path: Path, file: str, line: int | None, edits: Sequence[Edit]) -> tuple[str, str]:
    """Apply `edits` to the file at `path` in place; returns (before, after) texts. `file` names it in errors."""
    try:
        before = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EditError(f"{file}: cannot read the declaration ({exc.strerror})") from exc
    after = apply_edits(before, file, line, edits)
    if after != before:
        path.write_text(after, encoding="utf-8")
    return before, after


def unified_patch(project_dir: Path, file: str, line: int | None, edits: Sequence[Edit]) -> str:
    """A `git apply`-able diff of `file` (relative to `project_dir`) with `edits` applied; "" when nothing changes.
    The file itself is not written."""
    try:
        before = (Path(project_dir) / file).read_text(encoding="utf-8")
    except OSError as exc:
        raise EditError(f"{file}: cannot read the declaration ({exc.strerror})") from exc
    return diff(file, before, apply_edits(before, file, line, edits))


def diff(file: str, before: str, after: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"a/{file}", tofile=f"b/{file}"))
