"""Adapter for the stack controls whose logic lives in `guardrails_predict.guardrails` (shared with preflight):
the pack's stack resources and settings in, `StackViolation`s out."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from guardrails_pack.aws_helpers import stack_resources
from guardrails_pack.context import StackContext
from guardrails_pack.control import PROJECT_DIR_OPTION, StackViolation

Rule = Callable[..., list[tuple[str | None, str]]]


def plan_inputs(ctx: StackContext) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    resources = [{"type": r.type, "name": r.name, "urn": r.urn, "props": props} for r, props in stack_resources(ctx)]
    return resources, ctx.settings.model_dump(mode="json", by_alias=False)


def project_option(ctx: StackContext) -> Path | None:
    """The pack-wide project_dir option, when configured (predictions need it only for usage-history files)."""
    value = ctx.config.get(PROJECT_DIR_OPTION)
    return Path(value) if isinstance(value, str) and value.strip() else None


def violations(found: Sequence[tuple[str | None, str]]) -> Iterator[StackViolation]:
    for urn, message in found:
        yield StackViolation(message, urn)


def prediction_check(rule: Rule) -> Callable[[StackContext], Iterator[StackViolation]]:
    """`check` for a control that is exactly one rule over the current plan."""

    def check(ctx: StackContext) -> Iterator[StackViolation]:
        resources, settings = plan_inputs(ctx)
        yield from violations(rule(resources, settings, project_dir=project_option(ctx)))

    return check
