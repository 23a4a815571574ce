"""Property-based fuzzing of the declaration loader (fixed seed, bounded time; runs in CI with the other tests).

Each case mutates the seed Knative Service or the Lambda function (values replaced by hostile ones, keys removed
or added, containers multiplied) and sometimes the YAML text itself (alias bombs, document floods, duplicate keys,
tabs, truncation). Oracle, per case: the loader either accepts it and the independent judge in `oracle.py` finds
nothing wrong, or raises DeclarationErrors whose every line names the file (and a field unless the whole file is
refused), within bounded length. Never another exception, never > 5 s, never > 500 MB, for files under 64 KB.
The figures are printed (pytest -s) and written to out/fuzz-loader.json.
"""

from __future__ import annotations

import copy
import json
import os
import resource
import time
import traceback
from collections import Counter
from typing import Any

import yaml
from guardrails_core.safe_input import MAX_DOCUMENTS
from guardrails_core.settings import load_stack_settings
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from components.specs import DeclarationErrors, load_declarations
from tests.hostile.helpers import FUNCTION, REPO, project, seed_text
from tests.hostile.oracle import problems

CASES = int(os.environ.get("GUARDRAILS_FUZZ_CASES", "2000"))
SEED = 11
MAX_SECONDS_PER_CASE = 5.0
MAX_RSS_GROWTH_MB = 500
SMALL_FILE = 64 * 1024
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
BASES = [yaml.safe_load(seed_text()), yaml.safe_load(FUNCTION)]

HOSTILE_STRINGS = [
    "[/]", "[/x]", "[bold red]x", "", " ", " 1 ", "１５", "١", "1_0", "nan", "NaN", "inf", "-inf", "1e999", "-1",
    "0", "70000", "a\n", "x" * 300, "../../etc/passwd", "/etc", ".", "./", "ok-name", "UPPER", "AWS_REGION",
    "app.handler", "handler", "4111111111111111", "\u202e", "\x00", "é", "{username}", "${X}", "ko://x", "-",
    "a/b/c", "a" * 64, "1.5", "500m", "2Gi", "-500m", "3 GB", "true", "null", "*",
]
VALUES = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.text(max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.just([]),
    st.just({}),
    st.lists(st.sampled_from(HOSTILE_STRINGS), max_size=3),
    st.dictionaries(st.sampled_from(HOSTILE_STRINGS), st.sampled_from(HOSTILE_STRINGS), max_size=3),
)
MUTATION = st.tuples(st.integers(min_value=0, max_value=10**6), st.sampled_from(["replace", "delete", "add", "dup"]),
                     VALUES, st.sampled_from(HOSTILE_STRINGS + ["annotationz", "ports", "env", "containers"]))
TEXT_MUTATION = st.sampled_from(["none"] * 6 + ["alias_bomb", "recursive_alias", "documents", "duplicate_key",
                                               "tab", "truncate", "deep", "many_docs_small"])


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key/index) in the document, depth first."""
    if isinstance(node, dict):
        for key in list(node):
            out.append((node, key))
            _slots(node[key], out)
    elif isinstance(node, list):
        for i in range(len(node)):
            out.append((node, i))
            _slots(node[i], out)
    return out


def _mutate(doc: Any, mutations: list[tuple[int, str, Any, str]]) -> Any:
    for pick, kind, value, new_key in mutations:
        slots = _slots(doc, [])
        if not slots:
            return doc
        container, key = slots[pick % len(slots)]
        if kind == "replace":
            container[key] = copy.deepcopy(value)
        elif kind == "delete":
            del container[key]
        elif kind == "add" and isinstance(container, dict):
            container[new_key] = copy.deepcopy(value)
        elif kind == "add":
            container.append(copy.deepcopy(value))
        elif kind == "dup" and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
    return doc


def _text(doc: Any, how: str) -> str:
    text = yaml.dump(doc, Dumper=_DUMPER, sort_keys=False, allow_unicode=True)
    if how == "alias_bomb":
        bomb = ["a0: &a0 lol"] + [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]
        return text + "---\n" + "\n".join(bomb) + "\n"
    if how == "recursive_alias":
        return text + "---\nx: &x [*x]\n"
    if how == "documents":
        return text + "---\n" * (MAX_DOCUMENTS + 1)
    if how == "many_docs_small":
        return (text + "---\n") * 3
    if how == "duplicate_key":
        return text + "kind: Service\n"
    if how == "tab":
        return text.replace("  ", "\t", 1)
    if how == "truncate":
        return text[: max(1, len(text) * 2 // 3)]
    if how == "deep":
        return text + "---\nz: " + "[" * 120 + "]" * 120 + "\n"
    return text


def _check_errors(exc: DeclarationErrors, file: str) -> str | None:
    lines = str(exc).splitlines()
    if len(lines) > 250 or any(len(line) > 800 for line in lines):
        return "unbounded error output"
    for e in exc.errors:
        if e.file != file:
            return f"error names another file: {e}"
        if not e.path and not (e.message.startswith(("refused:", "not valid YAML", "a declaration must be",
                                                     "unsupported apiVersion"))):
            return f"error without a field: {e}"
    return None


def test_fuzz_loader(tmp_path_factory) -> None:
    root = project(tmp_path_factory.mktemp("fuzz"), seed=False, function=False)
    stack_settings = load_stack_settings(root, "dev")
    target = root / "services" / "case.yaml"
    rel = "services/case.yaml"
    stats: Counter[str] = Counter()
    failures: list[str] = []
    slowest = [0.0]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()

    @seed(SEED)
    @settings(max_examples=CASES, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(base=st.sampled_from([0, 1]), mutations=st.lists(MUTATION, min_size=0, max_size=4), how=TEXT_MUTATION)
    def case(base: int, mutations: list, how: str) -> None:
        doc = _mutate(copy.deepcopy(BASES[base]), mutations)
        text = _text(doc, how)
        target.write_text(text)
        stats["attempts"] += 1
        t0 = time.perf_counter()
        try:
            accepted = load_declarations(root, "dev", stack_settings)
        except DeclarationErrors as exc:
            stats["clean errors"] += 1
            if problem := _check_errors(exc, rel):
                stats["bad error output"] += 1
                failures.append(f"{problem}\n{text[:500]}")
        except Exception:  # noqa: BLE001 - the oracle counts what must never happen
            stats["tracebacks"] += 1
            failures.append(f"traceback:\n{traceback.format_exc()[-1500:]}\n{text[:500]}")
        else:
            stats["accepted"] += 1
            for decl in accepted:
                if found := problems(decl.document):
                    stats["invalid accepted"] += 1
                    failures.append(f"invalid accepted: {found}\n{text[:800]}")
        elapsed = time.perf_counter() - t0
        slowest[0] = max(slowest[0], elapsed)
        if elapsed > MAX_SECONDS_PER_CASE and len(text.encode()) < SMALL_FILE:
            stats["hangs"] += 1
            failures.append(f"took {elapsed:.1f}s:\n{text[:500]}")

    case()
    total = time.perf_counter() - started
    rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    summary = {"seed": SEED, **{k: stats[k] for k in ("attempts", "clean errors", "accepted", "tracebacks", "hangs",
                                                    "invalid accepted", "bad error output")},
               "seconds": round(total, 1), "slowest case s": round(slowest[0], 3),
               "peak RSS growth MB": round(rss_growth_mb, 1)}
    print("\nfuzz-loader:", json.dumps(summary))
    out = REPO / "out"
    out.mkdir(exist_ok=True)
    (out / "fuzz-loader.json").write_text(json.dumps(summary, indent=2) + "\n")
    assert not failures, f"{len(failures)} failures; first:\n" + "\n---\n".join(failures[:3])
    assert stats["attempts"] >= CASES * 0.9 and stats["accepted"] > 0 and stats["clean errors"] > 0, summary
    assert rss_growth_mb < MAX_RSS_GROWTH_MB, summary
