"""Control fixtures through the real protocol (kyverno-test style), one plugin process per pack.

1. The runner itself, on the protocol pack's own control folders (always present): every expected result
   is met, except one deliberately wrong expectation that the runner must catch.
2. Folder-level mistakes (no pass case, unlisted fixture, ...) are reported, never skipped.
3. The guardrails pack: every fixture of every control, with the pack's own fixture → config mapping.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from crossguard_helpers import PACKS, PROJECT, STACK
from guardrails_core.values import UNKNOWN, Secret

from preflight.crossguard.client import PackInfo
from preflight.crossguard.fixtures import (
    FixtureCase,
    FixtureError,
    load_fixture,
    run_control_fixtures,
)
from preflight.crossguard.run import PackSession

REPO = Path(__file__).resolve().parents[2]
CONTROLS = PACKS / "protocol_pack_controls"
GUARDRAILS_PACK = REPO / "policy_packs" / "guardrails"
GUARDRAILS_CONTROLS = GUARDRAILS_PACK / "guardrails_pack" / "controls"


def test_protocol_pack_fixtures_match_and_a_wrong_expectation_is_caught(protocol_session: PackSession) -> None:
    outcomes, problems = run_control_fixtures(protocol_session, CONTROLS, stack=STACK, project=PROJECT)
    assert problems == []
    by_label = {o.case.label: o for o in outcomes}
    assert len(by_label) == 12
    wrong = by_label.pop("raises_on_boom/bad-wrongly-expected-fail.yaml")
    assert not wrong.ok and wrong.actual == "pass" and "expected fail, got pass" in wrong.explain()
    failures = [o.explain() for o in by_label.values() if not o.ok]
    assert failures == []
    actual = {label: o.actual for label, o in by_label.items()}
    assert actual["role_arn_format/unknown-at-preview.yaml"] == "unknown"
    assert actual["raises_on_boom/error-boom.yaml"] == "error"
    assert actual["stack_resource_count/bad-too-many.yaml"] == "fail"
    assert actual["no_public_visibility/bad-internal-when-configured.yaml"] == "fail"  # options -> config


def test_fixture_tags_load_as_markers(tmp_path: Path) -> None:
    path = tmp_path / "bad-x.yaml"
    # (block style: in flow style a tag swallows the following ',' or '}')
    path.write_text("type: a:b:C\nname: n\nproperties:\n  arn: !unknown\n  pw: !secret hunter2\n"
                    "  env: !secret {K: v}\n")
    fixture = load_fixture(path, stack="s", project="p")
    [res] = fixture.resources
    assert res.inputs == {"arn": UNKNOWN, "pw": Secret("hunter2"), "env": Secret({"K": "v"})}
    assert res.urn == "urn:pulumi:s::p::a:b:C::n" and res.source_file == str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: n\nproperties: {}\n", r"<root>.type is required"),
        ("type: nope\nproperties: {}\n", "must be a Pulumi type token"),
        ("type: a:b:C\nproperties: []\n", r"<root>.properties must be a mapping"),
        ("resources: []\n", "resources must be a non-empty list"),
        ("type: a:b:C\nproperties: {}\nconfig: [1]\n", "config must be a mapping"),
        ("type: a:b:C\nproperties: {x: [}\n", "not valid YAML"),
    ],
)
def test_bad_fixture_files_name_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad-x.yaml"
    path.write_text(text)
    with pytest.raises(FixtureError, match=message) as err:
        load_fixture(path)
    assert str(path) in str(err.value)


def _copy_control(tmp_path: Path, folder: str) -> Path:
    src = CONTROLS / "res" / folder
    dst = tmp_path / "controls" / "res" / folder
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: (d / "fixtures" / "bad-not-an-arn.yaml").unlink() or (d / "expected.yaml").write_text(
            "results:\n  - {fixture: good-role-arn.yaml, result: pass}\n"
            "  - {fixture: unknown-at-preview.yaml, result: unknown}\n"),
         "needs at least one `fail` and one `pass` case"),
        (lambda d: (d / "fixtures" / "good-extra.yaml").write_text("type: a:b:C\nproperties: {}\n"),
         "has no result for good-extra.yaml"),
        (lambda d: (d / "fixtures" / "good-role-arn.yaml").unlink(), "lists fixtures not in fixtures/"),
        (lambda d: (d / "expected.yaml").unlink(), "missing (every control folder needs expected.yaml)"),
        (lambda d: (d / "expected.yaml").write_text("results:\n  - {fixture: good-role-arn.yaml, result: ok}\n"),
         "result 'ok' is not one of pass, fail, unknown, error"),
        (lambda d: d.rename(d.parent / "no_such_policy"), "expected exactly one policy"),
    ],
)
def test_control_folder_mistakes_are_problems_not_skips(
    protocol_session: PackSession, tmp_path: Path, mutate: Any, message: str
) -> None:
    control = _copy_control(tmp_path, "role_arn_format")
    mutate(control)
    outcomes, problems = run_control_fixtures(protocol_session, tmp_path / "controls")
    assert outcomes == []
    assert len(problems) == 1 and message in problems[0]


def test_empty_controls_tree_is_a_problem(protocol_session: PackSession, tmp_path: Path) -> None:
    _, problems = run_control_fixtures(protocol_session, tmp_path)
    assert problems == [f"{tmp_path}: no control folders (no control.py found)"]


# ---------------------------------------------------------------- the guardrails pack


@pytest.fixture(scope="module")
def guardrails_session() -> Iterator[PackSession]:
    if not (GUARDRAILS_PACK / "__main__.py").is_file() or not GUARDRAILS_CONTROLS.is_dir():
        pytest.skip("policy_packs/guardrails is not there yet (written by the controls helper)")
    with PackSession(GUARDRAILS_PACK, stack="dev", project="serverless-guardrails", call_timeout=60.0) as session:
        yield session


def _guardrails_config_builders() -> tuple[Any, Any]:
    """The pack's own fixture -> (policy config, stack config) mapping, so this runner and the direct tests agree."""
    from guardrails_pack.discovery import discover_units

    from preflight.crossguard.control_fixtures import fixture_policy_config, fixture_stack_config
    from preflight.crossguard.control_fixtures import load_fixture as pack_load_fixture

    controls = {unit.folder.name: unit.control for unit in discover_units()}

    def build(case: FixtureCase, info: PackInfo) -> Mapping[str, Any]:
        return fixture_policy_config(pack_load_fixture(case.fixture.path), controls[case.control_dir.name], REPO)

    def build_stack(case: FixtureCase) -> Mapping[str, Any]:
        return fixture_stack_config(pack_load_fixture(case.fixture.path))

    return build, build_stack


def test_every_guardrails_control_fixture_through_the_real_protocol(guardrails_session: PackSession) -> None:
    build, build_stack = _guardrails_config_builders()
    outcomes, problems = run_control_fixtures(
        guardrails_session, GUARDRAILS_CONTROLS, config_builder=build, stack_config_builder=build_stack,
        stack="dev", project="serverless-guardrails",
    )
    mismatches = [o.explain() for o in outcomes if not o.ok]
    assert problems == [], "\n".join(problems)
    assert mismatches == [], "\n\n".join(mismatches)
    assert outcomes, "no fixtures ran"
