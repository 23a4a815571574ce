"""Which policy packs preflight runs, and the policy config each gets for a stack."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from guardrails_core.settings import StackSettings

PACKS_DIR = "policy_packs"


def discover_packs(project_dir: Path) -> list[Path]:
    """Every folder of policy_packs/ that holds a PulumiPolicy.yaml, in name order."""
    root = Path(project_dir) / PACKS_DIR
    return sorted(p.parent for p in root.glob("*/PulumiPolicy.yaml"))


# What an override (`preflight up --override CONTROL="reason"`) turns a control's enforcement into.
OVERRIDDEN_LEVEL = "advisory"


def pack_config(pack_dir: Path, settings: StackSettings, project_dir: Path | None = None, *,
                overrides: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """Policy config for a pack: the guardrails pack gets enforcement levels and the project directory.

    `overrides` (control id or policy name → reason) downgrade exactly those controls to advisory, in the policy
    config the engine gets, so the engine's own mandatory enforcement agrees with the gate.
    The settings themselves reach every pack as stack config (PULUMI_CONFIG / ConfigureStack), as the engine
    sends them; nothing here copies them into the policy config."""
    if (pack_dir / "guardrails_pack").is_dir():
        from guardrails_pack.config import policy_config_for_stack

        config = policy_config_for_stack(settings, project_dir=project_dir)
        for name in overridden_policies(overrides or {}):
            if name in config:
                config[name] = {**config[name], "enforcementLevel": OVERRIDDEN_LEVEL}
        return config
    return None


def control_catalogue() -> dict[str, str]:
    """Control id → CrossGuard policy name, for every control of the guardrails pack."""
    from guardrails_pack.discovery import discover_controls

    return {c.id: c.name for c in discover_controls()}


def overridden_policies(overrides: Mapping[str, str]) -> set[str]:
    """The policy names the overrides name (a control id or its policy name)."""
    catalogue = control_catalogue() if overrides else {}
    return {catalogue.get(key, key) for key in overrides}
