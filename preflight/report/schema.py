"""Validate a preflight report document against `preflight-report.schema.json` plus the rules a schema cannot say.

The schema ships inside this package (a byte-identical copy of `schemas/preflight-report.schema.json`, a test keeps
them equal) so validation works from an editable install, a wheel, or a CI checkout alike.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import math
from collections.abc import Iterator
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry

SCHEMA_RESOURCE = "preflight-report.schema.json"
_MAX_LISTED_ERRORS = 20


class ReportValidationError(ValueError):
    """The document does not follow the report contract; `problems` lists every `path: what is wrong`."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        shown = problems[:_MAX_LISTED_ERRORS]
        more = len(problems) - len(shown)
        lines = [f"{source}: invalid preflight report ({len(problems)} problem(s)):"]
        lines += [f"  - {p}" for p in shown]
        if more:
            lines.append(f"  ... and {more} more")
        super().__init__("\n".join(lines))


@functools.cache
def _schema_text() -> str:
    return importlib.resources.files("preflight.report").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")


def load_schema() -> dict[str, Any]:
    """The report JSON Schema (2020-12), read from the package data: a fresh copy per call, because a validator
    compiler annotates the dict it is given (an annotated schema's references then look remote)."""
    return json.loads(_schema_text())


def _no_remote_reference(uri: str) -> Any:
    # Every reference of the schema is inside it ("#/$defs/..."): one that is not must fail, never be fetched.
    raise ValueError(f"the report schema refers to {uri}, outside itself; remote references are never fetched")


@functools.cache
def _validator() -> Draft202012Validator:
    # Checking the schema against its meta-schema costs ~0.2 s: done where the reference validator is needed (a
    # document the compiled one rejected) and by tests/report/test_schema.py, not on every report. An explicit
    # (empty) registry: jsonschema's default would still fetch an unknown http(s) reference.
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=Registry())


@functools.cache
def _compiled() -> Any:
    # The schema uses only keywords whose meaning is the same in draft 7 (a test guards this), which the
    # compiled validator implements; disagreement falls back to jsonschema above, never to a pass.
    return fastjsonschema.compile(load_schema(), handlers={"http": _no_remote_reference,
                                                           "https": _no_remote_reference})


def compile_ahead() -> None:
    """Compile the validator now (~0.5 s of code generation): preflight does it in the background while the
    engine runs, so validating the report after the run does not pay for it."""
    _compiled()


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<document>"


def _describe(error: ValidationError) -> str:
    """jsonschema's message, plus what each alternative wanted when a `oneOf` failed (its own text is vague)."""
    if not error.context:
        return error.message
    alternatives = sorted({sub.message for sub in error.context})
    return f"{error.message}; allowed: " + " | or | ".join(alternatives)


def _non_json_values(value: Any, path: list[Any]) -> Iterator[str]:
    """Anything that `json.dumps` would reject or that is not plain data (e.g. an unredacted Secret)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                yield f"{_path(path)}: key {key!r} is not a string"
                continue
            yield from _non_json_values(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_json_values(item, [*path, index])
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield f"{_path(path)}: {value!r} is not a finite number (JSON has no NaN/Infinity)"
    elif not (value is None or isinstance(value, str | int | bool)):
        yield (
            f"{_path(path)}: a {type(value).__name__} is not JSON data; pass the document through "
            "guardrails_core.values.redact() first (secrets and unknowns must never reach a report)"
        )


def _semantic_problems(doc: dict[str, Any]) -> Iterator[str]:
    """Cross-field rules of the contract (the schema already passed, so the shapes are right)."""
    resources = doc["resources"]
    if resources["count"] != len(resources["items"]):
        yield f"resources.count: {resources['count']} but resources.items has {len(resources['items'])} entries"
    for service, prediction in doc["predictions"].items():
        band = prediction["cost_usd_month"]
        if not band["p10"] <= band["p50"] <= band["p90"]:
            yield (
                f"predictions.{service}.cost_usd_month: quantiles must satisfy p10 <= p50 <= p90, "
                f"got {band['p10']}, {band['p50']}, {band['p90']}"
            )
    gate = doc["gate"]
    if gate["decision"] == "block" and not gate["reasons"]:
        yield "gate.reasons: a block must say why (at least one reason)"
    if doc["errors"] and gate["decision"] == "pass" and not doc["overrides"]:
        yield "gate.decision: 'pass' while errors are present; errors block the gate unless overridden"


def validate_report(doc: Any, source: str = "preflight report", *, plain_json: bool = False) -> None:
    """Raise `ReportValidationError` naming every bad field (path, what was found, what is allowed).

    `plain_json`: the caller has just walked the document and found only JSON data (`prepare_report` does, while
    it redacts), so that walk is not repeated here."""
    problems = [] if plain_json else list(_non_json_values(doc, []))
    if problems:
        raise ReportValidationError(source, problems)
    try:
        _compiled()(doc)  # fast path: compiled validator (~20× faster on large reports)
        schema_errors: list[ValidationError] = []
    except fastjsonschema.JsonSchemaException:
        # The reference implementation describes every problem (path, found, allowed).
        schema_errors = sorted(_validator().iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
        if not schema_errors:
            schema_errors = [ValidationError("rejected by the compiled validator", path=())]
    if schema_errors:
        raise ReportValidationError(source, [f"{_path(e.absolute_path)}: {_describe(e)}" for e in schema_errors])
    problems = list(_semantic_problems(doc))
    if problems:
        raise ReportValidationError(source, problems)
