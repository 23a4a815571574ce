"""Reading user files without trusting them: one safe-path helper and bounded YAML and JSON readers.

Every file the product reads on a user's say-so (declarations, overlays, usage histories, bundles, model weights,
code folders, stack config) goes through here, so the limits are the same everywhere:

* a path must resolve (symlinks followed) inside the project root and be a regular file (or a directory when one
  is asked for); FIFOs, devices and sockets are refused *before* they are opened for reading, so nothing blocks;
* a file is read only up to its size cap (checked on the open descriptor, then enforced while reading);
* YAML is composed with libyaml into nodes and the *expanded* tree is measured before anything is constructed:
  an alias bomb of a few hundred bytes is refused in microseconds instead of expanding to gigabytes;
* a file holds at most `MAX_DOCUMENTS` documents (empty ones count: they cost parse time too).
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

MAX_YAML_BYTES = 1 << 20  # 1 MiB: the largest real declaration in the corpus is ~12 KB
MAX_DOCUMENTS = 1000
MAX_NODES = 100_000  # expanded nodes per document (aliases counted at every use)
MAX_DEPTH = 64
MAX_BINARY_BYTES = 64 << 20  # bundles, reports, model weights

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UnsafeInputError(ValueError):
    """A path or file the product refuses to read; the message says why (callers add the file and the key)."""


class JSONSyntaxError(UnsafeInputError):
    """A JSON file that does not parse; `lineno` lets callers name it as `file:line`."""

    def __init__(self, lineno: int, reason: str) -> None:
        super().__init__(f"line {lineno}: not JSON ({reason})")
        self.lineno, self.reason = lineno, reason


class MissingInputError(UnsafeInputError):
    """The path does not exist (callers often word this case differently)."""


def resolve_inside(root: Path, relative: str | os.PathLike[str], *, kind: str = "file") -> Path:
    """The real path of `relative` under `root`, refused unless it stays inside and is a `kind` ("file"/"dir")."""
    text = os.fspath(relative)
    if not text or "\x00" in text:
        raise UnsafeInputError("must be a non-empty path without NUL characters")
    if os.path.isabs(text):
        raise UnsafeInputError("must be a path relative to the repository root, not an absolute path")
    try:
        real_root = Path(root).resolve(strict=True)
        real = (real_root / text).resolve()
        if real != real_root and real_root not in real.parents:
            raise UnsafeInputError("resolves outside the repository (a symlink or '..' escaping it)")
        info = real.stat()
    except FileNotFoundError:
        raise MissingInputError("does not exist in the repository") from None
    except RuntimeError:  # a symlink loop
        raise UnsafeInputError("is a symlink loop") from None
    except OSError as exc:
        raise UnsafeInputError(_os_reason(exc)) from None
    if kind == "dir":
        if not stat.S_ISDIR(info.st_mode):
            raise UnsafeInputError("must be a directory")
    elif not stat.S_ISREG(info.st_mode):
        raise UnsafeInputError(f"must be a regular file, found {_file_type(info.st_mode)}")
    return real


def read_bytes_bounded(path: Path, max_bytes: int = MAX_BINARY_BYTES) -> bytes:
    """A regular file's bytes, refused when larger than `max_bytes`; never blocks on a FIFO or device."""
    try:
        # O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise UnsafeInputError(f"cannot be read ({_os_reason(exc)})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeInputError(f"must be a regular file, found {_file_type(info.st_mode)}")
        if info.st_size > max_bytes:
            raise UnsafeInputError(f"is {info.st_size:,} bytes; the limit is {max_bytes:,}")
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # the file grew while being read
                raise UnsafeInputError(f"is over the limit of {max_bytes:,} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise UnsafeInputError(f"cannot be read ({_os_reason(exc)})") from None
    finally:
        os.close(fd)


def read_text_bounded(path: Path, max_bytes: int = MAX_YAML_BYTES) -> str:
    data = read_bytes_bounded(path, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeInputError(f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_json_bounded(path: Path, max_bytes: int = MAX_BINARY_BYTES) -> Any:
    """A JSON file's value (reports, histories, scanner output): bounded and never blocking like every read here.

    Raises JSONSyntaxError (with the line) for a syntax error, UnsafeInputError saying why for a file that cannot
    be read; callers prefix the file and the option it came from."""
    text = read_text_bounded(path, max_bytes)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JSONSyntaxError(exc.lineno, exc.msg) from None
    except RecursionError:  # nesting deeper than the interpreter's stack: refused like a YAML alias bomb
        raise UnsafeInputError("is nested too deeply to be read") from None


def json_input_problem(path: Path, option: str, exc: UnsafeInputError) -> str:
    """`file[:line]: option: what is wrong` for a JSON file named by a command-line option (`--compare-to`)."""
    if isinstance(exc, JSONSyntaxError):
        return f"{path}:{exc.lineno}: {option}: not JSON ({exc.reason})"
    return f"{path}: {option}: the file {exc}"


def compose_documents(text: str) -> Iterator[tuple[int, Any]]:
    """(index, node) for each document of `text`, each checked by `check_node_budget` before it is yielded.

    Raises yaml.YAMLError for syntax errors and UnsafeInputError for inputs over the limits.
    """
    loader = _Loader(text)
    try:
        index = 0
        while loader.check_node():
            if index >= MAX_DOCUMENTS:
                raise UnsafeInputError(f"has more than {MAX_DOCUMENTS} YAML documents")
            node = loader.get_node()
            if node is not None:
                check_node_budget(node)
            yield index, node
            index += 1
    finally:
        loader.dispose()


def construct(node: Any) -> Any:
    """Plain data of a node that passed `check_node_budget` (the safe loader's types; aliases stay shared)."""
    loader = _Loader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def check_node_budget(root: Any) -> None:
    """Refuse a node graph whose expansion (every alias use counted) is over MAX_NODES or MAX_DEPTH, or cyclic.

    Sizes of collections are memoised per node, so measuring costs one visit per distinct collection however often
    it is aliased; a scalar is one node wherever it appears. (Recursion is bounded: past MAX_DEPTH it raises.)
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: Any, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise UnsafeInputError(f"nests deeper than {MAX_DEPTH} levels")
        kind = type(node)
        if kind is not yaml.MappingNode and kind is not yaml.SequenceNode:
            return 1
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            return known
        if key in on_path:
            raise UnsafeInputError("has a recursive YAML alias (a node that contains itself)")
        on_path.add(key)
        total = 1
        if kind is yaml.MappingNode:
            for item_key, item_value in node.value:
                total += size(item_key, depth + 1) + size(item_value, depth + 1)
        else:
            for item in node.value:
                total += size(item, depth + 1)
        on_path.discard(key)
        if total > MAX_NODES:
            raise UnsafeInputError(f"expands to more than {MAX_NODES:,} YAML nodes (an alias bomb?)")
        sizes[key] = total
        return total

    size(root, 1)


def load_yaml_bounded(text: str) -> Any:
    """The single document of `text` as plain data (None when empty), within the limits above."""
    data = None
    for index, node in compose_documents(text):
        if index > 0:
            raise UnsafeInputError("must hold a single YAML document")
        data = construct(node) if node is not None else None
    return data


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return "the path is too long"
    return exc.strerror or exc.__class__.__name__
