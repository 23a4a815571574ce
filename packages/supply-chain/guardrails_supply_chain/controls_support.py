"""Glue for the `sc.*` CrossGuard controls: run `evaluate_resource` on a control context, keep one policy's
messages. Kept here (not in the pack) so the pack's control files stay a few lines each."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from guardrails_supply_chain.artifacts import SUPPORTED_TYPES

# The sc.* controls of one Analyze request each ask for the same resource's evaluation (reading its declaration,
# verifying bundles). The pack hands every policy of a request the same props object, so the last evaluation per
# thread is reused while the props object, settings and project are the same ones; a new request brings new props.
_last = threading.local()


def control_messages(ctx: Any, policy_id: str, project_dir: Path) -> list[str]:
    """Violation messages of `policy_id` for the resource behind a guardrails_pack `ResourceContext`."""
    from guardrails_supply_chain.evaluate import evaluate_resource  # sigstore loads on the first check, not at start

    cached = getattr(_last, "entry", None)
    same = (cached is not None and cached[0][0] is ctx.props and cached[0][1] is ctx.settings
            and cached[0][2:] == (str(project_dir), ctx.urn))
    if not same:
        key = (ctx.props, ctx.settings, str(project_dir), ctx.urn)
        resource = {"type": ctx.resource_type, "name": ctx.name, "urn": ctx.urn, "props": ctx.props}
        cached = (key, evaluate_resource(resource, ctx.settings, project_dir))
        _last.entry = cached
    return cached[1].messages(policy_id)


__all__ = ["SUPPORTED_TYPES", "control_messages"]
