"""The round-trip edit's consistency check reads YAML with libyaml (issue 17): the same data as the pure parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from preflight.gitops.yaml_edit import YAML, _safe_load  # ruamel's, as the editor uses it (only gitops imports it)

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = Path("/work/shared/data/knative/examples")


def _documents() -> list[Path]:
    files = sorted((REPO / "services").rglob("*.yaml")) + sorted((REPO / "stacks").glob("*.yaml"))
    return files + (sorted(EXAMPLES.rglob("*.yaml")) if EXAMPLES.is_dir() else [])


@pytest.mark.parametrize("path", _documents(), ids=lambda p: p.name)
def test_libyaml_reads_what_the_pure_parser_reads(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for body in text.split("\n---\n"):
        assert _safe_load(body) == YAML(typ="safe", pure=True).load(body), path

