"""Glue for the `sc.*` CrossGuard controls: run `evaluate_resource` on a control context, keep one policy's
messages. Kept here (not in the pack) so the pack's control files stay a few lines each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from guardrails_supply_chain.artifacts import SUPPORTED_TYPES
from guardrails_supply_chain.evaluate import evaluate_resource


def control_messages(ctx: Any, policy_id: str, project_dir: Path) -> list[str]:
    """Violation messages of `policy_id` for the resource behind a guardrails_pack `ResourceContext`."""
    resource = {"type": ctx.resource_type, "name": ctx.name, "urn": ctx.urn, "props": ctx.props}
    evaluation = evaluate_resource(resource, ctx.settings, project_dir)
    return evaluation.messages(policy_id)


__all__ = ["SUPPORTED_TYPES", "control_messages"]
