"""The one source-location format: written by components, parsed everywhere, inherited down the tree."""

from __future__ import annotations

import pytest
from guardrails_core.source import SOURCE_KEY, SourceLocation, format_source, parse_source, source_of_props

from preflight.engine.base import PlannedResource, attach_sources


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"metadata": {"annotations": {SOURCE_KEY: "services/a.yaml:12"}}}, SourceLocation("services/a.yaml", 12)),
        ({"tags": {SOURCE_KEY: "services/fn.yaml:1"}}, SourceLocation("services/fn.yaml", 1)),
        ({"tags": {SOURCE_KEY: "services/fn.yaml"}}, None),
        ({"tags": {SOURCE_KEY: "services/fn.yaml:0"}}, None),
        ({"tags": {SOURCE_KEY: "a\nb.yaml:3"}}, None),
        ({"metadata": {"annotations": {}}}, None),
        ({}, None),
    ],
)
def test_source_of_rendered_props(inputs: dict, expected: SourceLocation | None) -> None:
    assert source_of_props(inputs) == expected


def test_format_and_parse_round_trip() -> None:
    assert parse_source(format_source("services/x.yaml", 7)) == SourceLocation("services/x.yaml", 7)
    assert str(SourceLocation("services/x.yaml", 7)) == "services/x.yaml:7"


def _res(urn: str, parent: str | None = None, custom: bool = True, inputs: dict | None = None) -> PlannedResource:
    return PlannedResource(urn=urn, type="t", name=urn, custom=custom, parent=parent, provider=None,
                           inputs=inputs or {})


def test_children_inherit_their_component_declaration() -> None:
    component = _res("c", custom=False, inputs={"declaration": {"source": "services/f.yaml:4", "document": {}}})
    role = _res("role", parent="c")
    grandchild = _res("policy", parent="role")
    tagged = _res("fn", parent="c", inputs={"tags": {SOURCE_KEY: "services/f.yaml:4"}})
    orphan = _res("x")
    out = {r.urn: (r.source_file, r.source_line) for r in attach_sources([component, role, grandchild, tagged, orphan])}
    assert out == {"c": ("services/f.yaml", 4), "role": ("services/f.yaml", 4), "policy": ("services/f.yaml", 4),
                   "fn": ("services/f.yaml", 4), "x": (None, None)}
