"""Linux capability lists of a container securityContext, shared by the `pod.*` capability controls."""

from __future__ import annotations

from typing import Any

from guardrails_pack.context import get_in, is_list


def dropped(security_context: Any) -> list[str]:
    """`capabilities.drop`, upper-cased (Kubernetes' runtimes accept `all` for ALL); `[]` when absent."""
    drop = get_in(security_context, "capabilities.drop", [])
    return [str(c).upper() for c in drop] if is_list(drop) else []
