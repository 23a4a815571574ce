"""The bounded YAML reader: alias bombs, document floods, huge and non-regular files are refused fast."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest
from guardrails_core.safe_input import MAX_DOCUMENTS, MAX_YAML_BYTES

from components.specs.errors import MAX_ERRORS
from tests.hostile.helpers import errors_of, project, seed_text


def _bomb(levels: int = 8, width: int = 10) -> str:
    lines = ['a0: &a0 "lol"']
    for n in range(1, levels + 1):
        lines.append(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * width)}]")
    body = "\n".join("    " + line for line in lines)
    return seed_text().replace("  annotations:\n", "  annotations:\n" + body + "\n", 1)


def test_alias_bomb_is_refused_in_milliseconds_with_one_short_error(tmp_path: Path) -> None:
    root = project(tmp_path, function=False)
    (root / "services" / "seed.yaml").write_text(_bomb())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    errors = errors_of(root)
    elapsed = time.perf_counter() - started
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert elapsed < 1.0 and grown_mb < 50, (elapsed, grown_mb)
    assert len(errors) == 1 and "services/seed.yaml" in errors[0] and "alias bomb" in errors[0], errors
    assert len(errors[0]) < 300


def test_small_alias_bomb_prints_bounded_errors(tmp_path: Path) -> None:
    # 578 bytes that once printed 39 MB: now either refused or bounded by the per-field/line caps.
    root = project(tmp_path, function=False)
    (root / "services" / "seed.yaml").write_text(_bomb(levels=5, width=9))
    errors = errors_of(root)
    assert errors and sum(len(e) for e in errors) < 200 * 500


def test_recursive_alias_is_an_error(tmp_path: Path) -> None:
    root = project(tmp_path, function=False)
    (root / "services" / "loop.yaml").write_text("a: &x [*x]\n")
    errors = errors_of(root)
    assert len(errors) >= 1 and "services/loop.yaml" in errors[0]


def test_document_flood_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path, function=False)
    (root / "services" / "flood.yaml").write_text("---\n" * (MAX_DOCUMENTS + 5))
    started = time.perf_counter()
    errors = errors_of(root)
    assert time.perf_counter() - started < 2
    assert errors == [f"services/flood.yaml: refused: the file has more than {MAX_DOCUMENTS} YAML documents"]


def test_500000_empty_documents_stop_at_the_size_cap(tmp_path: Path) -> None:
    root = project(tmp_path, function=False)
    (root / "services" / "flood.yaml").write_text("---\n" * 500_000)
    started = time.perf_counter()
    errors = errors_of(root)
    assert time.perf_counter() - started < 1
    assert len(errors) == 1 and f"the limit is {MAX_YAML_BYTES:,}" in errors[0]


def test_many_bad_documents_print_a_bounded_number_of_lines(tmp_path: Path) -> None:
    from guardrails_core.settings import load_stack_settings

    from components.specs import DeclarationErrors, load_declarations

    root = project(tmp_path, function=False)
    (root / "services" / "many.yaml").write_text("---\n42\n" * (MAX_DOCUMENTS - 1))
    with pytest.raises(DeclarationErrors) as info:
        load_declarations(root, "dev", load_stack_settings(root, "dev"))
    assert len(str(info.value).splitlines()) == MAX_ERRORS + 2  # head, MAX_ERRORS lines, "... and N more"


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path, function=False)
    (root / "services" / "deep.yaml").write_text("a: " + "[" * 200 + "]" * 200 + "\n")
    errors = errors_of(root)
    assert len(errors) == 1 and "services/deep.yaml" in errors[0]


@pytest.mark.parametrize("where", ["services/pipe.yaml", "services/overlays/dev/pipe.yaml"])
def test_a_fifo_is_refused_without_blocking(tmp_path: Path, where: str) -> None:
    root = project(tmp_path)
    (root / where).parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(root / where)
    started = time.perf_counter()
    errors = errors_of(root)
    assert time.perf_counter() - started < 2
    assert errors == [f"{where}: refused: the file must be a regular file, found a FIFO"]


def test_not_utf8_is_named(tmp_path: Path) -> None:
    root = project(tmp_path, function=False)
    (root / "services" / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    assert errors_of(root) == ["services/latin1.yaml: refused: the file is not UTF-8 text "
                               "(invalid continuation byte at byte 9)"]


def test_json_inputs_are_read_bounded_and_never_block(tmp_path: Path) -> None:
    """Reports, histories and scanner output given on the command line go through one bounded JSON reader."""
    from guardrails_core.safe_input import JSONSyntaxError, UnsafeInputError, read_json_bounded

    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    with pytest.raises(UnsafeInputError, match="regular file, found a FIFO"):
        read_json_bounded(fifo)
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "a": 1,\n  "b": \n}\n')
    with pytest.raises(JSONSyntaxError) as syntax:
        read_json_bounded(broken)
    assert syntax.value.lineno == 4 and str(syntax.value).startswith("line 4: not JSON")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(UnsafeInputError, match="nested too deeply"):
        read_json_bounded(deep)
    big = tmp_path / "big.json"
    big.write_text("[" + "0," * 600 + "0]")
    with pytest.raises(UnsafeInputError, match="the limit is 1,000"):
        read_json_bounded(big, max_bytes=1000)
    assert read_json_bounded(big)[:2] == [0, 0]
