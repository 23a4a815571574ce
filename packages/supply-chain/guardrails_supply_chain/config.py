"""The stack settings as this library takes them. The schema of `guardrails:supplyChain` (who may sign, which
trusted root, what the vulnerability gate blocks) is the core's `guardrails_core.settings.SupplyChainSettings`,
documented in docs/supply-chain.md; unknown keys are errors so a typo cannot silently switch a check off.
"""

from __future__ import annotations

from typing import Any

from guardrails_core.settings import StackConfigError, StackSettings, as_stack_settings


class SupplyChainConfigError(ValueError):
    """The `supplyChain` setting is unusable; the message names the key and what is allowed."""


def stack_settings(settings: StackSettings | dict[str, Any]) -> StackSettings:
    """The typed stack settings (a `model_dump()` dict is validated again); bad ones are SupplyChainConfigError."""
    try:
        return as_stack_settings(settings)
    except StackConfigError as exc:
        raise SupplyChainConfigError(str(exc)) from None
