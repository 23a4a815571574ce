"""Assemble the CrossGuard policy pack from the discovered controls."""

from __future__ import annotations

from typing import Any

from guardrails_pack import PACK_NAME
from guardrails_pack.config import initial_config_from_engine
from guardrails_pack.discovery import discover_controls
from guardrails_pack.policies import build_policies, initial_config_for_pack

PACK_DESCRIPTION = (
    "Guardrails for serverless AI workloads (Knative Services and AWS Lambda): pod security, Knative "
    "autoscaling/visibility, image provenance, IAM, logs, tagging/FinOps and data classification."
)


def pack_arguments() -> dict[str, Any]:
    """Keyword arguments for `pulumi_policy.PolicyPack` (separate so tests can inspect them without serving)."""
    controls = discover_controls()
    return {
        "name": PACK_NAME,
        "policies": build_policies(controls),
        "initial_config": initial_config_for_pack(initial_config_from_engine(controls)),
        "description": PACK_DESCRIPTION,
        "display_name": "Serverless guardrails",
    }
