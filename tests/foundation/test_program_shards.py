"""The offline engine may run the program in shards; their union must be exactly the unsharded plan."""

from __future__ import annotations

import pytest

from benchmarks.generate import generate
from preflight.engine.mock_runner import ProgramFailed
from tests.foundation.helpers import run


def _plan(project, monkeypatch, part: str):
    monkeypatch.setenv("GUARDRAILS_PROGRAM_SHARD", part)
    return {(r.urn, r.type, repr(sorted(r.inputs))) for r in run(project, "dev")}


def test_union_of_shards_is_the_whole_plan(tmp_path, monkeypatch):
    project = generate(tmp_path, 12)
    whole = _plan(project, monkeypatch, "0/1")
    first, second = _plan(project, monkeypatch, "0/2"), _plan(project, monkeypatch, "1/2")
    providers = {r for r in whole if r[1].startswith("pulumi:providers:")}
    assert {r[1] for r in providers} == {"pulumi:providers:kubernetes", "pulumi:providers:aws"}
    assert first - providers and second - providers and not (first - providers) & (second - providers)
    assert first | second == whole  # every shard registers the default providers; the engine keeps one of each
    # 6 Knative (component + ksvc), 6 Lambda (component + 6 children), 2 default providers
    assert len(whole) == 6 * 2 + 6 * 7 + 2


@pytest.mark.parametrize("bad", ["2/2", "x", "1/0"])
def test_bad_shard_spec_is_a_clear_error(tmp_path, monkeypatch, bad):
    project = generate(tmp_path, 2)
    monkeypatch.setenv("GUARDRAILS_PROGRAM_SHARD", bad)
    with pytest.raises(ProgramFailed, match="GUARDRAILS_PROGRAM_SHARD"):
        run(project, "dev")


def _inputs_plan(project, monkeypatch):
    return {(r.urn, r.type, repr(r.inputs)) for r in run(project, "dev")}


def test_handed_over_declarations_give_the_same_plan(tmp_path, monkeypatch):
    """preflight hands its loaded declarations to the program (loaded once per run): same plan, input for input."""
    from guardrails_core.settings import load_stack_settings

    from components.program import DECLARATIONS_ENV, write_declarations
    from components.specs import load_declarations

    (tmp_path / "p").mkdir()
    project = generate(tmp_path / "p", 12)
    monkeypatch.delenv(DECLARATIONS_ENV, raising=False)
    read_by_program = _inputs_plan(project, monkeypatch)
    handed = tmp_path / "declarations.pickle"
    write_declarations(handed, project, "dev", load_declarations(project, "dev", load_stack_settings(project, "dev")))
    monkeypatch.setenv(DECLARATIONS_ENV, str(handed))
    for declaration in (project / "services").glob("*.yaml"):
        declaration.unlink()
    assert _inputs_plan(project, monkeypatch) == read_by_program  # the files are not read again


def test_declarations_for_another_stack_are_refused(tmp_path, monkeypatch):
    from guardrails_core.settings import load_stack_settings

    from components.program import DECLARATIONS_ENV, write_declarations
    from components.specs import load_declarations

    (tmp_path / "p").mkdir()
    project = generate(tmp_path / "p", 2)
    handed = tmp_path / "declarations.pickle"
    write_declarations(handed, project, "prod", load_declarations(project, "dev", load_stack_settings(project, "dev")))
    monkeypatch.setenv(DECLARATIONS_ENV, str(handed))
    with pytest.raises(ProgramFailed, match="not for project .* and stack 'dev'"):
        run(project, "dev")
    handed.write_bytes(b"not a pickle")
    with pytest.raises(ProgramFailed, match="cannot read the declarations"):
        run(project, "dev")
