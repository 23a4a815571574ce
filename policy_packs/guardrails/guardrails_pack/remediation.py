"""Helpers for controls that can fix a resource (`remediate`): edit a plain copy of the props."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from guardrails_core.values import plain

from guardrails_pack.context import ControlInputError, ResourceContext


def editable_props(ctx: ResourceContext) -> dict[str, Any]:
    """A deep plain copy of the props (unknowns as UNKNOWN, secrets as Secret; the pack wraps the result)."""
    copy = plain(ctx.props)
    if not isinstance(copy, dict):
        raise ControlInputError("resource properties must be a mapping")
    return copy


def remediate_containers(ctx: ResourceContext, fix: Callable[[dict[str, Any]], None]) -> dict[str, Any] | None:
    """Apply `fix(securityContext)` to every container; return the new props, or None if nothing changed."""
    props = editable_props(ctx)
    spec = ((props.get("spec") or {}).get("template") or {}).get("spec")
    if not isinstance(spec, dict):
        return None
    changed = False
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if not isinstance(container, dict):
                continue
            before = repr(container.get("securityContext"))
            security_context = container.setdefault("securityContext", {})
            if not isinstance(security_context, dict):
                continue
            fix(security_context)
            changed = changed or repr(security_context) != before
    return props if changed else None
