"""Point each finding at the line of the field it is about, in the file that set it (declaration or overlay).

Controls name the property they judged in their message (`container 'app' (spec.template.spec.containers[0])
sets securityContext.privileged: true`, `kmsKeyId is not set`): that is the only channel CrossGuard gives a
policy. `finding_path` reads the path back; the loaded declarations (read once, with their node marks) map it
to a line. A rendered AWS property maps to the declaration field it came from (the component's FIELD_ORIGINS).
When no field can be named, the finding points at the declaration's first line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from guardrails_core.types import KNATIVE_SERVICE

from components.serverless_function import FIELD_ORIGINS
from components.specs.loader import Declaration
from preflight.engine.base import PlannedResource

Path = tuple[str | int, ...]
# A dotted property path with optional [index] / [key] parts: spec.template.spec.containers[0].image,
# metadata.labels[networking.knative.dev/visibility], securityContext.capabilities.drop.
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\[[^\]\s]+\])*(?:\.[A-Za-z_][A-Za-z0-9_-]*(?:\[[^\]\s]+\])*)*")
_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)|\[([^\]]+)\]")
_ROOTS = ("spec", "metadata")
# A Kubernetes annotation or label key with a prefix: autoscaling.knative.dev/maxScale, finops.acme.com/owner.
_DNS_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_QUALIFIED_KEY = re.compile(rf"\b{_DNS_LABEL}(?:\.{_DNS_LABEL})+/[A-Za-z0-9][A-Za-z0-9._-]*")
# Where a qualified key may sit in a Knative Service, most specific first.
_KEY_HOMES: tuple[tuple[str, ...], ...] = (("spec", "template", "metadata", "annotations"),
                                          ("spec", "template", "metadata", "labels"),
                                          ("metadata", "annotations"), ("metadata", "labels"))
_CONTAINER = re.compile(r"^(spec\.template\.spec\.(?:init)?[cC]ontainers\[\d+\])$")
# Container fields a message may name relative to its container (`... (containers[0]) sets securityContext.x`).
_CONTAINER_FIELDS = frozenset({
    "securityContext", "resources", "requests", "limits", "livenessProbe", "readinessProbe", "startupProbe",
    "imagePullPolicy", "image", "ports", "env", "envFrom", "volumeMounts", "command", "args", "lifecycle",
    "seccompProfile", "capabilities", "runAsNonRoot", "runAsUser", "readOnlyRootFilesystem", "privileged",
    "allowPrivilegeEscalation",
})
_UNDER_SECURITY_CONTEXT = frozenset({"seccompProfile", "capabilities", "runAsNonRoot", "runAsUser",
                                     "readOnlyRootFilesystem", "privileged", "allowPrivilegeEscalation"})
_UNDER_RESOURCES = frozenset({"requests", "limits"})


def parse_path(token: str) -> Path:
    parts: list[str | int] = []
    for name, bracket in _PART.findall(token):
        if name:
            parts.append(name)
        elif bracket.isdigit():
            parts.append(int(bracket))
        else:
            parts.append(bracket)
    return tuple(parts)


def _body(message: str) -> str:
    """The control's own text: after the `[control.id]` tag (the description before it names no resource)."""
    match = re.search(r"\[[a-z]+\.[a-z0-9-]+\] ", message)
    return message[match.end():] if match else message


def finding_path(message: str, resource_type: str, props: object = None) -> Path | None:
    """The declaration field path a finding's message names, or None."""
    body = _body(message)
    tokens = _TOKEN.findall(body)
    if resource_type == KNATIVE_SERVICE:
        for i, token in enumerate(tokens):
            if not token.startswith(_ROOTS):
                continue
            path = parse_path(token)
            if _CONTAINER.match(token):
                for rel in tokens[i + 1:]:
                    head = rel.split(".", 1)[0].split("[", 1)[0]
                    if head in _CONTAINER_FIELDS:
                        prefix: Path = ("securityContext",) if head in _UNDER_SECURITY_CONTEXT else (
                            ("resources",) if head in _UNDER_RESOURCES else ())
                        return path + prefix + parse_path(rel)
            return path
        return _qualified_key_path(body, props)
    for token in tokens:
        head = token.split(".", 1)[0].split("[", 1)[0]
        origin = FIELD_ORIGINS.get((resource_type, head))
        if origin is not None:
            return parse_path(origin)
        if token.startswith(_ROOTS) and "." in token:
            return parse_path(token)
    return None


def _qualified_key_path(body: str, props: object) -> Path | None:
    """`autoscaling.knative.dev/maxScale is 500` -> where that key is set in the resource."""
    for match in _QUALIFIED_KEY.finditer(body):
        key = match.group(0)
        for home in _KEY_HOMES:
            holder: object = props
            for part in home:
                holder = holder.get(part) if isinstance(holder, dict) else None
            if isinstance(holder, dict) and key in holder:
                return (*home, key)
    return None


@dataclass(frozen=True)
class Location:
    file: str | None
    line: int | None
    path: str | None = None  # the field path, dotted, when one was named


class SourceMap:
    """Declarations (as loaded, overlays applied) by their file and first line, which every resource carries."""

    def __init__(self, declarations: Iterable[Declaration]) -> None:
        self._by_start = {(d.file, d.line): d for d in declarations}

    def locate(self, resource: PlannedResource | None, message: str) -> Location:
        if resource is None:
            return Location(None, None)
        declaration = self._by_start.get((resource.source_file or "", resource.source_line or 0))
        if declaration is None:
            return Location(resource.source_file, resource.source_line)
        path = finding_path(message, resource.type, resource.inputs)
        if not path:
            return Location(declaration.file, declaration.line)
        file, line = declaration.locate(path)
        return Location(file, line, dotted(path))


def dotted(path: Sequence[str | int]) -> str:
    """The path as reports show it: `spec.template.metadata.annotations[autoscaling.knative.dev/maxScale]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "." in part or "/" in part:
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
