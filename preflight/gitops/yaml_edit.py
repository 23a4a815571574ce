"""Edits of a declaration file with ruamel.yaml's round trip: comments, quoting, key order and indentation kept.

Only the document being edited is round-tripped (the other documents of a multi-document file are kept byte for
byte); its indentation is measured from the text and reused, lines are never wrapped, and where ruamel would still
write an unedited line differently (a flow list, odd spacing), only the edited lines are carried onto the original
text. The result is checked: it must load to exactly the original data with the edits applied, or `EditError` says
which file, document line and path. The one editor of declarations: GitOps commits and drift's adopt patches.

Most edits (a rightsizing or an adoption: set one existing scalar, add one key beside its siblings) are written
straight into the text (`_splice`): libyaml tells where the value or the first sibling is, the new text is what the
round trip would write there, and the same check decides; anything else, or a splice that does not pass the check,
goes through the round trip (a round trip costs ~15-20 ms of pure-Python YAML per declaration, a splice ~1.3 ms).
"""

from __future__ import annotations

import difflib
import io
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml as libyaml
from guardrails_core.safe_input import UnsafeInputError, compose_documents, construct
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, ScalarString

PathKey = str | int
_DOCUMENT_START = re.compile(r"^---(?=[ \t\r\n]|$)")
_PROBE = YAML(typ="safe", pure=True)


class EditError(ValueError):
    """The declaration cannot be edited as asked (the message names the file and the field path)."""


class _Remove:
    def __repr__(self) -> str:
        return "REMOVE"


REMOVE: Any = _Remove()  # `Edit(path, REMOVE)` deletes the key


@dataclass(frozen=True)
class Edit:
    """Set `path` (e.g. `("spec", "template", "metadata", "annotations", "autoscaling.knative.dev/min-scale")`)
    to `value` (a scalar, a mapping or a list; `REMOVE` deletes the key or list item; an index one past a list's
    end appends). Missing mappings and lists on the way are created. A value replacing a quoted string keeps its
    quote style; a string YAML would read as something else ("true", "5") is quoted so it stays a string;
    `quote=True` forces a double-quoted string (Knative annotation values are strings)."""

    path: tuple[PathKey, ...]
    value: Any
    quote: bool = False

    def __init__(self, path: Sequence[PathKey], value: Any, quote: bool = False) -> None:
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


def _needs_quotes(text: str) -> bool:
    """A string YAML would read as something else (a number, a bool, null) must be quoted to stay a string."""
    try:
        value = _PROBE.load(text)
    except YAMLError:
        return True
    return not isinstance(value, str) or value != text


def _node(value: Any) -> Any:
    """A new value as round-trip nodes (strings that would not read back as strings are double-quoted)."""
    if isinstance(value, dict):
        out = CommentedMap()
        for key, item in value.items():
            out[key] = _node(item)
        return out
    if isinstance(value, list):
        return CommentedSeq(_node(item) for item in value)
    if isinstance(value, str) and not isinstance(value, ScalarString) and _needs_quotes(value):
        return DoubleQuotedScalarString(value)
    return value


def _new_value(old: Any, edit: Edit) -> Any:
    if edit.quote:
        return DoubleQuotedScalarString(str(edit.value))
    if isinstance(old, ScalarString) and isinstance(edit.value, str | int | float) \
            and not isinstance(edit.value, bool):
        return type(old)(str(edit.value))  # keep the file's quoting style ('5' stays single-quoted)
    return _node(edit.value)


def _apply(data: Any, edit: Edit, file: str, start: int) -> None:
    where = f"{file}:{start}: {edit.where}"
    node = data
    for depth, key in enumerate(edit.path[:-1]):
        if isinstance(node, CommentedSeq | list):
            if not isinstance(key, int) or not 0 <= key < len(node):
                raise EditError(f"{where}: no item {key!r} in the list at "
                                f"{'.'.join(map(str, edit.path[:depth])) or '<root>'}")
            node = node[key]
            continue
        if not isinstance(node, dict):
            raise EditError(f"{where}: {'.'.join(map(str, edit.path[:depth]))} is not a mapping")
        if key not in node or node[key] is None:
            if edit.value is REMOVE:
                return  # nothing to remove
            node[key] = CommentedSeq() if isinstance(edit.path[depth + 1], int) else CommentedMap()
        node = node[key]
    last = edit.path[-1]
    if isinstance(node, CommentedSeq | list):
        if not isinstance(last, int) or not 0 <= last <= len(node) or (last == len(node) and edit.value is REMOVE):
            raise EditError(f"{where}: no item {last!r} in the list (it has {len(node)})")
        if edit.value is REMOVE:
            del node[last]
        elif last == len(node):
            node.append(_new_value(None, edit))
        else:
            node[last] = _new_value(node[last], edit)
        return
    if not isinstance(node, dict):
        raise EditError(f"{where}: parent is not a mapping")
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


@dataclass
class Document:
    """One document of a file read for editing (the costly part of an edit: the round-trip load, the independent
    safe load and ruamel's rewrite of the unedited document, none of which depends on the edits). Used by one
    edit: editing consumes it."""

    chunks: list[tuple[int, str]]
    index: int
    header: str
    body: str
    yaml: YAML
    data: CommentedMap
    expected: Any
    unedited: str


def document_index(text: str, file: str, line: int | None) -> tuple[list[tuple[int, str]], int]:
    """The file's `---` chunks and the index of the one starting at or before `line` (None: the first)."""
    chunks = _split_documents(text)
    return chunks, _pick(chunks, line, file)


def content_documents(text: str) -> tuple[list[tuple[int, str]], list[int]]:
    """The file's `---` chunks and the indexes of those an edit can pick (those with content)."""
    chunks = _split_documents(text)
    return chunks, [i for i, (_, chunk) in enumerate(chunks) if _has_content(chunk)]


def _header_and_body(chunk: str) -> tuple[str, str]:
    """A chunk's own `---` line (with its newline; "" when it has none) and the document after it."""
    if not _DOCUMENT_START.match(chunk):
        return "", chunk
    header, _, body = chunk.partition("\n")
    return header + "\n", body


def _with_chunk(chunks: list[tuple[int, str]], index: int, text: str) -> str:
    """The whole file with chunk `index` replaced by `text` (the other documents byte for byte)."""
    return "".join(text if i == index else chunk for i, (_, chunk) in enumerate(chunks))


def read_document(chunks: list[tuple[int, str]], index: int, file: str) -> Document:
    """The chunk at `index` read for editing (`EditError` when it is not valid YAML or not a mapping)."""
    start, chunk = chunks[index]
    header, body = _header_and_body(chunk)
    try:
        yaml = _yaml(body)
        data = yaml.load(body)
        expected = _safe_load(body)
    except YAMLError as exc:
        raise EditError(f"{file}: not valid YAML ({str(exc)[:300]})") from exc
    if not isinstance(data, CommentedMap):
        raise EditError(f"{file}:{start}: the document is not a mapping")
    return Document(chunks, index, header, body, yaml, data, expected, _dump(yaml, data, body))


def edit_document(document: Document, file: str, edits: Sequence[Edit]) -> str:
    """The whole file's text with `edits` applied to `document` (which is consumed: its data are edited)."""
    start = document.chunks[document.index][0]
    body, data, expected = document.body, document.data, document.expected
    for edit in edits:
        _apply(data, edit, file, start)
        _apply(expected, edit, file, start)
    new_body = _dump(document.yaml, data, body)
    if document.unedited != body:
        # ruamel does not write this document back byte for byte: keep the original's unedited lines
        new_body = _carry(body, document.unedited, new_body)
    try:
        reproduced = _safe_load(new_body) == _plain(expected)
    except YAMLError:  # ruamel wrote what it cannot read back (an odd indentation of a list under a list)
        reproduced = False
    if not reproduced:
        raise EditError(f"{file}:{start}: the round trip did not reproduce the declaration; not edited")
    return _with_chunk(document.chunks, document.index, document.header + new_body)


def _with_lf(text: str, file: str) -> tuple[str, bool]:
    """(the text with LF line ends, whether its lines ended in CRLF). Both editors work on LF text; a file whose
    lines all end in CRLF gets CRLF back, new lines included. A file that mixes them (or has a lone CR) cannot
    keep its line ends through an edit: `EditError` naming the first such line, nothing edited."""
    if "\r" not in text:
        return text, False
    lines = text.split("\n")
    crlf = len(lines) > 1 and lines[0].endswith("\r")
    for number, line in enumerate(lines, 1):
        ended = number < len(lines)  # the last piece has no line end of its own
        if "\r" in (line[:-1] if ended else line):
            raise EditError(f"{file}:{number}: line {number} holds a carriage return (CR) that ends no line; a line "
                            "end must be LF or CRLF to be kept through an edit: not edited")
        if ended and line.endswith("\r") != crlf:
            raise EditError(f"{file}:{number}: its lines end in both CRLF and LF (line {number} unlike line 1); "
                            "not edited")
    return text.replace("\r\n", "\n"), True


# What an editor of one document gives back: the whole file's text, or (the splice) None when it cannot make the edits.
_Edited = TypeVar("_Edited", str, str | None)


def _edited(text: str, file: str, line: int | None,
            edit: Callable[[list[tuple[int, str]], int], _Edited]) -> _Edited:
    """`edit(chunks, index)` of the document starting at or before `line`, on LF text, its line ends given back."""
    lf, crlf = _with_lf(text, file)
    chunks, index = document_index(lf, file, line)
    edited = edit(chunks, index)
    return edited.replace("\n", "\r\n") if crlf and edited is not None else edited


def splice_edits(text: str, file: str, line: int | None, edits: Sequence[Edit]) -> str | None:
    """`text` with `edits` spliced into the document starting at or before `line` (1-based; None: the first);
    None when the splice cannot make them (the round trip can)."""
    return _edited(text, file, line, lambda chunks, index: splice_document(chunks, index, file, edits))


def round_trip_edits(text: str, file: str, line: int | None, edits: Sequence[Edit]) -> str:
    """`text` with `edits` applied to that document by ruamel's round trip."""
    return _edited(text, file, line,
                   lambda chunks, index: edit_document(read_document(chunks, index, file), file, edits))


def apply_edits(text: str, file: str, line: int | None, edits: Sequence[Edit]) -> str:
    """`text` with `edits` applied to the document starting at or before `line` (1-based; None: the first):
    spliced where it can be, else round-tripped (the file split and its line ends checked once for both). Line
    ends are kept (LF, or CRLF on every line)."""
    if not edits:
        return text

    def splice_else_round_trip(chunks: list[tuple[int, str]], index: int) -> str:
        spliced = splice_document(chunks, index, file, edits)
        return spliced if spliced is not None else edit_document(read_document(chunks, index, file), file, edits)

    return _edited(text, file, line, splice_else_round_trip)


# A key or a plain string value the splice writes as is: what ruamel writes unquoted too (anything else is quoted
# by the round trip's own rules, or left to it).
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./+=@-]*\Z")
_STR_TAG = "tag:yaml.org,2002:str"
_BREAKS = re.compile(r"\r\n|\r|\n")
_COMMENT_GAP = re.compile(r"( +)#")


def _scalar_text(style: str | None, edit: Edit) -> str | None:
    """The value as the round trip writes it in place of a scalar of `style` (see `_new_value`); None when the
    splice leaves it to the round trip."""
    value = edit.value
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    if not text or not text.isprintable() or '"' in text or "\\" in text:
        return None
    if edit.quote or style == '"':
        return f'"{text}"'
    if style == "'":
        return "'" + text.replace("'", "''") + "'"
    if isinstance(value, int):
        return text
    if _needs_quotes(text):
        return f'"{text}"'
    return text if _PLAIN.match(text) else None


def _mapping_value(node: Any, key: str) -> Any:
    """The value node of the one `key` (a string key) in a block mapping node; None when absent or ambiguous."""
    found = [v for k, v in node.value if isinstance(k, libyaml.ScalarNode) and k.tag == _STR_TAG and k.value == key]
    return found[0] if len(found) == 1 else None


def _splice_point(body: str, root: Any, edit: Edit, offsets: list[int]) -> tuple[int, int, str] | None:
    """(start, end, new text) of `edit` in `body`: the span of the existing one-line scalar it replaces, or, for a
    key missing from an existing block mapping, an empty span at the start of that mapping's first key's line
    (ruamel inserts a new key first). None when the edit is not of these shapes."""
    if edit.value is REMOVE or not edit.path:
        return None
    node = root
    for depth, key in enumerate(edit.path):
        last = depth == len(edit.path) - 1
        if isinstance(node, libyaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            child = node.value[key]
        elif isinstance(node, libyaml.MappingNode) and isinstance(key, str) and not node.flow_style:
            child = _mapping_value(node, key)
            if child is None:
                if not last or not node.value or any(k.value == key for k, _ in node.value) \
                        or not _PLAIN.match(key):
                    return None
                first = node.value[0][0]
                start = offsets[first.start_mark.line]
                if body[start:start + first.start_mark.column].strip(" "):
                    return None  # the mapping starts after a `- ` on its line: left to the round trip
                text = _scalar_text(None, edit)
                return None if text is None else (start, start, f"{' ' * first.start_mark.column}{key}: {text}\n")
        else:
            return None
        node = child
    style = getattr(node, "style", None) or None  # libyaml's plain style is "", the pure parser's None
    if not isinstance(node, libyaml.ScalarNode) or style not in (None, "'", '"') \
            or (style is None and not node.value) or node.start_mark.line != node.end_mark.line:
        return None  # a block, multi-line or empty (null) scalar, a mapping or a list: left to the round trip
    text = _scalar_text(style, edit)
    if text is None:
        return None
    begin = offsets[node.start_mark.line] + node.start_mark.column
    end = offsets[node.end_mark.line] + node.end_mark.column
    comment = _COMMENT_GAP.match(body, end)
    if comment:  # the comment after the value keeps its column, at least one space away (as the round trip does)
        gap = max(1, len(comment.group(1)) + (end - begin) - len(text))
        return begin, comment.end(1), text + " " * gap
    return begin, end, text


def _composed(body: str) -> Any:
    """The one document of `body` as libyaml nodes; None when it is not exactly one readable document."""
    try:
        documents = [node for _, node in compose_documents(body)]
    except (libyaml.YAMLError, UnsafeInputError):
        return None  # the round trip says why
    return documents[0] if len(documents) == 1 else None


def _splice(body: str, file: str, start: int, edits: Sequence[Edit]) -> str | None:
    """`body` with `edits` written into its text, or None when one of them is not a splice (see `_splice_point`)
    or the result does not pass the check: libyaml reads the new text as the original data with the edits applied
    (the text outside the spliced values is the original's, so only they can differ; `_scalar_text` writes them
    as the round trip would, by ruamel's rules)."""
    if any(c in body for c in "\ufeff\x85\u2028\u2029\t"):
        return None  # where libyaml's columns and Python's offsets could disagree
    root = _composed(body)
    if not isinstance(root, libyaml.MappingNode) or root.flow_style:
        return None
    expected = construct(root)
    offsets = [0] + [m.end() for m in _BREAKS.finditer(body)]
    points = []
    for edit in edits:
        point = _splice_point(body, root, edit, offsets)
        if point is None:
            return None
        points.append(point)
        try:
            _apply(expected, edit, file, start)
        except EditError:
            return None  # the round trip says why
    points.sort()
    if any(b[0] < a[1] or b[0] == a[0] for a, b in zip(points, points[1:], strict=False)):
        return None  # two edits of one place
    out, at = [], 0
    for begin, end, text in points:
        out += [body[at:begin], text]
        at = end
    new_body = "".join([*out, body[at:]])
    new_root = _composed(new_body)
    return new_body if new_root is not None and construct(new_root) == _plain(expected) else None


def splice_document(chunks: list[tuple[int, str]], index: int, file: str, edits: Sequence[Edit]) -> str | None:
    """The whole file's text with `edits` spliced into the document at `index`; None: use the round trip."""
    start, chunk = chunks[index]
    header, body = _header_and_body(chunk)
    new_body = _splice(body, file, start, edits)
    return None if new_body is None else _with_chunk(chunks, index, header + new_body)


def _dump(yaml: YAML, data: Any, body: str) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    text = out.getvalue()
    return text[:-1] if not body.endswith("\n") and text.endswith("\n") else text


def _carry(original: str, rewritten: str, edited: str) -> str:
    """Apply the rewritten -> edited line changes to the original text (equal regions keep the original's lines
    where the rewrite kept the line count)."""
    a, b, o = rewritten.splitlines(keepends=True), edited.splitlines(keepends=True), original.splitlines(keepends=True)
    to_original = dict(zip(range(len(a)), range(len(o)), strict=False)) if len(a) == len(o) else {}
    out: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.extend(o[to_original[i]] if i in to_original else a[i] for i in range(i1, i2))
        else:
            out.extend(b[j1:j2])
    return "".join(out)


def read_declaration(path: Path, file: str) -> str:
    """The text of the declaration at `path` exactly as it is (CRLF line ends kept: a patch must match the bytes
    `git apply` finds); `EditError` naming `file` when it cannot be read."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except OSError as exc:
        raise EditError(f"{file}: cannot read the declaration ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise EditError(f"{file}: the declaration is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def write_declaration(path: Path, text: str) -> None:
    """Write an edited declaration's text as is (no newline translation)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def edit_file(path: Path, file: str, line: int | None, edits: Sequence[Edit]) -> tuple[str, str]:
    """Apply `edits` to the file at `path` in place; returns (before, after) texts. `file` names it in errors."""
    before = read_declaration(path, file)
    after = apply_edits(before, file, line, edits)
    if after != before:
        write_declaration(path, after)
    return before, after


def unified_patch(project_dir: Path, file: str, line: int | None, edits: Sequence[Edit]) -> str:
    """A `git apply`-able diff of `file` (relative to `project_dir`) with `edits` applied; "" when nothing changes.
    The file itself is not written."""
    before = read_declaration(Path(project_dir) / file, file)
    return diff(file, before, apply_edits(before, file, line, edits))


def _patch_lines(text: str) -> list[str]:
    """The text's lines as `git apply` counts them: ended by LF only (a CRLF line keeps its CR), the last one
    without a line end marked as git marks it."""
    lines = text.split("\n")
    last = lines.pop()
    out = [line + "\n" for line in lines]
    if last:
        out.append(last + "\n\\ No newline at end of file\n")
    return out


def diff(file: str, before: str, after: str) -> str:
    """A unified diff of two texts of `file` that `git apply` takes (paths `a/<file>`, `b/<file>`)."""
    return "".join(difflib.unified_diff(_patch_lines(before), _patch_lines(after), fromfile=f"a/{file}",
                                        tofile=f"b/{file}"))
