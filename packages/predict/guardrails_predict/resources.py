"""A neutral view of the resources predictions read, built from `PlannedResource`s or CrossGuard stack dicts.

Props may hold `guardrails_core.values.UNKNOWN`, the engine's unknown sentinel string, or pulumi-policy's
unknown-checking proxies (which raise on access); `plain()` turns all three into `UNKNOWN`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guardrails_core.source import source_of_props
from guardrails_core.types import (  # noqa: F401 (re-exported for the prediction modules)
    IAM_ROLE_POLICY,
    KNATIVE_SERVICE,
    LAMBDA_FUNCTION,
    LAMBDA_FUNCTION_URL,
    LAMBDA_PC_CONFIG,
)
from guardrails_core.values import plain


class PredictionInputError(ValueError):
    """A resource lacks what a prediction needs; the message names the resource, file and field."""


@dataclass(frozen=True)
class ResourceView:
    type: str
    name: str
    urn: str
    props: dict[str, Any]
    parent: str | None = None
    source_file: str | None = None
    source_line: int | None = None


def get(obj: Any, path: str, default: Any = None) -> Any:
    current = obj
    for key in path.split("."):
        if not isinstance(current, dict) or key not in current or current[key] is None:
            return default
        current = current[key]
    return current


def to_views(resources: Sequence[Any]) -> list[ResourceView]:
    """Accept `PlannedResource` objects or `{type, name, urn, props}` dicts (CrossGuard stack resources)."""
    views = []
    for i, res in enumerate(resources):
        if isinstance(res, Mapping):
            try:
                rtype, name, urn = str(res["type"]), str(res["name"]), str(res.get("urn") or "")
            except KeyError as exc:
                raise PredictionInputError(
                    f"resources[{i}]: missing key {exc.args[0]!r} (need type, name, urn, props)") from exc
            props = plain(res.get("props") or res.get("properties") or {})
            parent, file, line = res.get("parent"), None, None
        else:
            rtype, name, urn = res.type, res.name, res.urn
            props = plain(res.inputs)
            parent, file, line = res.parent, res.source_file, res.source_line
        if not isinstance(props, dict):
            raise PredictionInputError(f"resource {urn or name}: props must be a mapping")
        if file is None and (loc := source_of_props(props)) is not None:
            file, line = loc.file, loc.line
        views.append(ResourceView(rtype, name, urn, props, parent, file, line))
    return views
