"""Supply chain checks: offline Sigstore verification of declared artifacts and a ranked vulnerability gate.

Entry points: `evaluate_plan` (preflight), `evaluate_resource` (policy controls), `verify_bundle_bytes`
(library), and `preflight verify` (see `preflight.verify_cli`).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Public name -> defining module. Imported on first use, so `import guardrails_supply_chain` (e.g. by a policy
# pack that only lists SUPPORTED_TYPES) does not pull in sigstore.
_HOMES = {
    "POLICY_REPORT_FRESH": "evaluate", "POLICY_SIGNED": "evaluate", "POLICY_VULN_GATE": "evaluate",
    "Finding": "evaluate", "ResourceEvaluation": "evaluate", "evaluate_plan": "evaluate",
    "evaluate_resource": "evaluate", "SupplyChainConfigError": "config",
    "VerificationResult": "verify", "verify_bundle_bytes": "verify",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)


__all__ = [
    "POLICY_REPORT_FRESH",
    "POLICY_SIGNED",
    "POLICY_VULN_GATE",
    "Finding",
    "ResourceEvaluation",
    "SupplyChainConfigError",
    "VerificationResult",
    "evaluate_plan",
    "evaluate_resource",
    "verify_bundle_bytes",
]
