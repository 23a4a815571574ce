"""Edits written straight into the text (`yaml_edit.splice_document`) against ruamel's round trip (issue 17).

A splice must give the round trip's text wherever the file is laid out consistently, and otherwise change no more
than the edited values (the round trip also re-indents an edited line that is indented unlike the rest of the
file; the splice keeps it). Whatever it cannot do exactly, it declines, and the round trip edits as before.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.generate import generate
from preflight.gitops.yaml_edit import (
    REMOVE,
    Edit,
    EditError,
    _safe_load,
    apply_edits,
    content_documents,
    edit_document,
    read_document,
    splice_document,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = Path("/work/shared/data/knative/examples")
VALUES = (Edit((), 7), Edit((), "arm64"), Edit((), "0", quote=True), Edit((), "true"), Edit((), "750m"))
NEW_KEY = "autoscaling.knative.dev/target"


def _places(data: object, path: tuple = ()) -> Iterator[tuple[tuple, bool]]:
    """(path, is_mapping) of every mapping and scalar in the data (string keys only)."""
    if isinstance(data, dict):
        yield path, True
        for key, value in data.items():
            if isinstance(key, str):
                yield from _places(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _places(value, (*path, i))
    elif path:
        yield path, False


def _round_trip(chunks: list, index: int, file: str, edits: list[Edit]) -> str | None:
    try:
        return edit_document(read_document(chunks, index, file), file, edits)
    except EditError:
        return None


def _body(chunk: str) -> str:
    return chunk.partition("\n")[2] if chunk.startswith("---") else chunk


def _data(text: str, index: int) -> object:
    return _safe_load(_body(content_documents(text)[0][index][1]))


def _cases(files: list[Path], per_document: int, values: tuple[Edit, ...] = VALUES,
           ) -> Iterator[tuple[str, str, list, int, list[Edit]]]:
    for path in files:
        text = path.read_text(encoding="utf-8")
        chunks, indexes = content_documents(text)
        for index in indexes:
            data = _safe_load(_body(chunks[index][1]))
            for place, mapping in itertools.islice(_places(data), per_document):
                target = (*place, NEW_KEY) if mapping else place
                for value in values:
                    yield path.name, text, chunks, index, [Edit(target, value.value, value.quote)]


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.splitlines(), after.splitlines()
    if len(a) != len(b):
        return [("", line) for line in b if line not in a]
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    project = generate(tmp_path_factory.mktemp("splice"), 40)
    return sorted((project / "services").glob("*.yaml"))


def test_consistent_files_splice_to_the_round_trips_text(generated: list[Path]) -> None:
    files = sorted((REPO / "services").rglob("*.yaml")) + generated[::10]
    spliced = 0
    for name, _, chunks, index, edits in _cases(files, 12):
        fast = splice_document(chunks, index, name, edits)
        if fast is None:
            continue
        spliced += 1
        assert fast == _round_trip(chunks, index, name, edits), (name, edits)
    assert spliced > 100


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="the Knative examples corpus is not on this machine")
def test_any_file_splice_changes_only_the_edited_value() -> None:
    spliced = declined = 0
    for name, text, chunks, index, edits in _cases(sorted(EXAMPLES.rglob("*.yaml")), 12, VALUES[:3]):
        fast = splice_document(chunks, index, name, edits)
        if fast is None:
            declined += 1
            continue
        spliced += 1
        slow = _round_trip(chunks, index, name, edits) if spliced % 4 == 0 else None  # ~17 ms each: a sample
        if slow is not None:
            assert _data(fast, index) == _data(slow, index), (name, edits)  # the same data as the round trip's
        changed = _changed_lines(text, fast)
        assert len(changed) == 1, (name, edits, changed)  # one value replaced, or one key added
        old, new = changed[0]
        if old:  # a replaced value: the line keeps its indentation
            assert len(old) - len(old.lstrip()) == len(new) - len(new.lstrip()), (name, edits, changed)
    assert spliced > 100 and declined > 0


def test_splice_keeps_quotes_comments_and_inserts_beside_its_siblings() -> None:
    text = ("kind: Service\nspec:\n  template:\n    metadata:\n      annotations:\n"
            "        autoscaling.knative.dev/min-scale: '2'   # kept warm\n    spec:\n      x: 1\n")
    ann = ("spec", "template", "metadata", "annotations")
    after = apply_edits(text, "s.yaml", None, [Edit((*ann, "autoscaling.knative.dev/min-scale"), "0"),
                                               Edit((*ann, NEW_KEY), "70", quote=True)])
    assert after == ("kind: Service\nspec:\n  template:\n    metadata:\n      annotations:\n"
                     '        autoscaling.knative.dev/target: "70"\n'
                     "        autoscaling.knative.dev/min-scale: '0'   # kept warm\n    spec:\n      x: 1\n")
    chunks, indexes = content_documents(text)
    assert after == _round_trip(chunks, indexes[0], "s.yaml", [Edit((*ann, "autoscaling.knative.dev/min-scale"), "0"),
                                                               Edit((*ann, NEW_KEY), "70", quote=True)])


@pytest.mark.parametrize(("text", "edit"), [
    ("spec:\n  memoryMib: 1\n", Edit(("spec", "memoryMib"), REMOVE)),  # removal
    ("spec:\n  memoryMib: 1\n", Edit(("spec", "memoryMib"), {"a": 1})),  # a mapping value
    ("spec:\n  memoryMib: 1\n", Edit(("spec", "limits", "cpu"), "1")),  # a mapping to create on the way
    ("spec: {memoryMib: 1}\n", Edit(("spec", "memoryMib"), 2)),  # a flow mapping
    ("spec:\n  script: |\n    run\n", Edit(("spec", "script"), "x")),  # a block scalar
    ("spec:\n\tmemoryMib: 1\n", Edit(("spec", "memoryMib"), 2)),  # a tab
    ("spec:\n  image: a\n", Edit(("spec", "image"), "two words")),  # a plain string the splice does not write
    ("spec:\n  memoryMib: 1\n", Edit(("spec", "memoryMib"), True)),  # a bool
    ("a: &x {b: 1}\nspec: *x\n", Edit(("spec", "b"), 2)),  # an alias (a flow mapping too)
    ("spec:\n- a: 1\n", Edit(("spec", 0, "new"), 2)),  # a mapping that starts after "- "
])
def test_what_the_splice_declines_the_round_trip_edits(text: str, edit: Edit) -> None:
    chunks, indexes = content_documents(text)
    assert splice_document(chunks, indexes[0], "f.yaml", [edit]) is None
