"""A neutral view of the resources predictions read, built from `PlannedResource`s or CrossGuard stack dicts.

Props may hold `preflight.values.UNKNOWN`, the engine's unknown sentinel string, or pulumi-policy's
unknown-checking proxies (which raise on access); `plain()` turns all three into `UNKNOWN`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from preflight.values import UNKNOWN, UNKNOWN_SENTINEL, Secret

KNATIVE_SERVICE = "kubernetes:serving.knative.dev/v1:Service"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
LAMBDA_PC_CONFIG = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LAMBDA_FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
SOURCE_KEY = "serverless-guardrails.dev/source"
_SOURCE_RE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+)$")
# pulumi-policy's typed unknown sentinels (proxy.py) - all mean "not known at preview".
_POLICY_UNKNOWNS = frozenset({
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58", "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
})


class PredictionInputError(ValueError):
    """A resource lacks what a prediction needs; the message names the resource, file and field."""


def _is_unknown_error(exc: Exception) -> bool:
    return type(exc).__name__ == "UnknownValueError"  # pulumi_policy.proxy, without importing it here


def plain(value: Any) -> Any:
    """Deep copy into dict/list with every unknown (any representation) as `UNKNOWN`; secrets kept wrapped."""
    if value is UNKNOWN or isinstance(value, Secret):
        return value
    if isinstance(value, str):
        if value == UNKNOWN_SENTINEL or value in _POLICY_UNKNOWNS:
            return UNKNOWN
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in list(value.keys()):
            try:
                out[key] = plain(value[key])
            except Exception as exc:  # noqa: BLE001 - only pulumi-policy's unknown marker is expected here
                if not _is_unknown_error(exc):
                    raise
                out[key] = UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        items = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except Exception as exc:  # noqa: BLE001
                if not _is_unknown_error(exc):
                    raise
                items.append(UNKNOWN)
        return items
    return value


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


def _source_of(props: dict[str, Any], resource_type: str) -> tuple[str | None, int | None]:
    if resource_type == KNATIVE_SERVICE:
        raw = get(props, "metadata.annotations", {}).get(SOURCE_KEY)
    else:
        tags = props.get("tags")
        raw = tags.get(SOURCE_KEY) if isinstance(tags, dict) else None
    match = _SOURCE_RE.match(raw) if isinstance(raw, str) else None
    return (match["file"], int(match["line"])) if match else (None, None)


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
        if file is None:
            file, line = _source_of(props, rtype)
        views.append(ResourceView(rtype, name, urn, props, parent, file, line))
    return views
