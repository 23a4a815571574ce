"""Supply chain checks: offline Sigstore verification of declared artifacts and a ranked vulnerability gate.

Entry points: `evaluate_plan` (preflight), `evaluate_resource` (policy controls), `verify_bundle_bytes`
(library), and `preflight verify` (see `preflight.verify_cli`).
"""

from guardrails_supply_chain.config import SupplyChainConfigError, parse_supply_chain_settings
from guardrails_supply_chain.evaluate import (
    POLICY_REPORT_FRESH,
    POLICY_SIGNED,
    POLICY_VULN_GATE,
    Finding,
    ResourceEvaluation,
    evaluate_plan,
    evaluate_resource,
)
from guardrails_supply_chain.verify import VerificationResult, verify_bundle_bytes

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
    "parse_supply_chain_settings",
    "verify_bundle_bytes",
]
