"""The `guardrails:supplyChain` stack setting as this library uses it. Its schema (who may sign, which trusted
root, what the vulnerability gate blocks) is the core's `guardrails_core.settings.SupplyChainSettings`, documented
in docs/supply-chain.md; unknown keys are errors so a typo cannot silently switch a check off.
"""

from __future__ import annotations

from typing import Any

from guardrails_core.settings import (
    StackConfigError,
    StackSettings,
    SupplyChainSettings,
    as_stack_settings,
    format_settings_errors,
)
from pydantic import ValidationError

SETTINGS_KEY = "guardrails:supplyChain"


class SupplyChainConfigError(ValueError):
    """The `supplyChain` setting is unusable; the message names the key and what is allowed."""


def parse_supply_chain_settings(raw: Any, origin: str = SETTINGS_KEY) -> SupplyChainSettings:
    """Validate a `guardrails:supplyChain` mapping on its own (e.g. from `preflight verify`'s flags or a test)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SupplyChainConfigError(f"{origin}: expected a mapping, found {type(raw).__name__}")
    try:
        return SupplyChainSettings.model_validate(raw)
    except ValidationError as exc:
        message = format_settings_errors(exc, origin, under=(SETTINGS_KEY, SupplyChainSettings))
        raise SupplyChainConfigError(message) from exc


def stack_settings(settings: StackSettings | dict[str, Any]) -> StackSettings:
    """The typed stack settings (a `model_dump()` dict is validated again); bad ones are SupplyChainConfigError."""
    try:
        return as_stack_settings(settings)
    except StackConfigError as exc:
        raise SupplyChainConfigError(str(exc)) from None
