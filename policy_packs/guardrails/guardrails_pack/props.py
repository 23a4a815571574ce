"""Typed access to resource properties with errors that name the field (AWS, tagging and data-class controls).

Values may be UNKNOWN (preview-time), Secret, wire sentinels or pulumi-policy's own wrappers; nothing here
prints a secret. Bad shapes raise PropertyError naming the field, so the control fails closed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from guardrails_core.values import UNKNOWN, is_secret, is_unknown, reveal

from guardrails_pack.context import ControlInputError
from guardrails_pack.speed import shared_plain

# A resource property with a shape no control can judge (wrong type, malformed JSON, ...). The pack's
# wrapper words this class specially ("failed closed on unexpected input"), so reuse it rather than subclass.
PropertyError = ControlInputError


class SettingsError(ValueError):
    """A stack setting the control needs is missing or has the wrong type."""


def describe(value: Any) -> str:
    """A safe description of a value for a violation message: never echoes a secret."""
    if is_secret(value):
        return "[secret]"
    if is_unknown(value):
        return "<unknown at preview>"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def props_of(ctx: Any) -> dict[str, Any]:
    """The control's props as a plain dict (unknowns as UNKNOWN); see `plain`. Within one request every control
    gets the same copy (speed.shared_plain): read it, never edit it."""
    return shared_plain(ctx.props)


def stack_resources(ctx: Any, *types: str) -> list[tuple[Any, dict[str, Any]]]:
    """(StackResource, plain props) for every resource of the given types (all when none given)."""
    return [(r, shared_plain(r.props)) for r in ctx.resources if not types or r.type in types]


_MISSING = object()


def get_path(props: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """Walk a dotted path ("tracingConfig.mode"); a missing step gives `default`.

    A step that is not a mapping raises PropertyError naming the path, so `{"tracingConfig": "x"}` is
    reported instead of silently passing. Secret wrappers on intermediate steps are looked through.
    """
    current: Any = props
    walked: list[str] = []
    for step in path.split("."):
        current = reveal(current)
        if current is None:
            return default
        if is_unknown(current):
            return UNKNOWN
        if not isinstance(current, Mapping):
            where = ".".join(walked) or "<root>"
            raise PropertyError(f"{where}: expected an object, got {type(current).__name__}")
        walked.append(step)
        current = current.get(step, _MISSING)
        if current is _MISSING:
            return default
    return current


def as_mapping(value: Any, where: str) -> dict[str, Any]:
    """The value as a dict; None → {}; anything else that is not an object → PropertyError."""
    value = reveal(value)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PropertyError(f"{where}: expected an object, got {type(value).__name__}")
    return dict(value)


def as_list(value: Any, where: str) -> list[Any]:
    value = reveal(value)
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise PropertyError(f"{where}: expected a list, got {type(value).__name__}")
    return list(value)


def as_int(value: Any, where: str) -> int | None:
    """An integer property; None when absent. bool and non-numeric strings are rejected."""
    value = reveal(value)
    if value is None:
        return None
    if isinstance(value, bool):
        raise PropertyError(f"{where}: expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    raise PropertyError(f"{where}: expected an integer, got {describe(value)}")


def setting(settings: Mapping[str, Any], path: str) -> Any:
    """A required stack setting (snake_case dotted path); missing → SettingsError naming the key."""
    current: Any = settings
    for step in path.split("."):
        if not isinstance(current, Mapping) or current.get(step) is None:
            raise SettingsError(f"stack setting `{path}` is required by this control but is not set")
        current = current[step]
    return current
