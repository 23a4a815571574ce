"""Markers for preview-time unknowns and secrets, shared by the engine, the CrossGuard driver and the reports.

Neutral module: it imports nothing from the rest of the project, so every stage may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The exact sentinels the Pulumi engine uses on the wire (sdk/go/common/resource/plugin/rpc.go).
UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


class _Unknown:
    """A value that is not known until `up` (e.g. an ARN computed by the cloud)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"

    def __reduce__(self) -> str:  # keep the singleton across pickling (child process -> parent)
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Secret:
    """A secret value; never printed. `repr` and reports show `[secret]`."""

    value: Any

    def __repr__(self) -> str:
        return "[secret]"

    __str__ = __repr__


def redact(value: Any) -> Any:
    """A JSON-safe copy with secrets replaced by "[secret]" and unknowns by "<unknown>"."""
    if isinstance(value, Secret):
        return "[secret]"
    if value is UNKNOWN:
        return "<unknown>"
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value
