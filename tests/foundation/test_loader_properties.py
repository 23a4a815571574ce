"""Property-based: malformed YAML and specs never produce a traceback, always a clear DeclarationErrors."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import yaml
from guardrails_core.settings import load_stack_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.specs import DeclarationErrors, load_declarations
from tests.foundation.helpers import REPO, make_project

SEED = yaml.safe_load((REPO / "services" / "multimodal-ai-inference.yaml").read_text())
FUNCTION = yaml.safe_load((REPO / "services" / "embeddings-batch.yaml").read_text())
SETTINGS = load_stack_settings(REPO, "dev")

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                    st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


def _replace(doc, path, value):
    doc = copy.deepcopy(doc)
    if not path:
        return value
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return doc


def _load(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp), {"x.yaml": text}, with_repo_services=False)
        (project / "functions" / "embeddings_batch").mkdir(parents=True)
        try:
            load_declarations(project, "dev", SETTINGS)
        except DeclarationErrors as exc:
            assert exc.errors, "an empty error list would hide the problem"
            for error in exc.errors:
                assert error.file == "services/x.yaml"
                assert error.message.strip()
                assert "Traceback" not in str(error)


PROFILE = settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@PROFILE
@given(st.text(max_size=300))
def test_arbitrary_text(text):
    _load(text)


@PROFILE
@given(st.binary(max_size=200))
def test_arbitrary_bytes_decoded_leniently(data):
    _load(data.decode("utf-8", errors="replace"))


@PROFILE
@given(st.sampled_from([SEED, FUNCTION]).flatmap(
    lambda doc: st.tuples(st.just(doc), st.sampled_from(list(_paths(doc))), values)))
def test_mutated_declarations(case):
    doc, path, value = case
    _load(yaml.safe_dump(_replace(doc, path, value), allow_unicode=True))


@PROFILE
@given(st.sampled_from([SEED, FUNCTION]), st.sampled_from(["metadata", "spec", "apiVersion", "kind"]))
def test_missing_top_level_fields(doc, field):
    broken = {k: v for k, v in doc.items() if k != field}
    _load(yaml.safe_dump(broken))
