"""Which policy packs preflight runs, and the policy config each gets for a stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from guardrails_core.settings import StackSettings

PACKS_DIR = "policy_packs"


def discover_packs(project_dir: Path) -> list[Path]:
    """Every folder of policy_packs/ that holds a PulumiPolicy.yaml, in name order."""
    root = Path(project_dir) / PACKS_DIR
    return sorted(p.parent for p in root.glob("*/PulumiPolicy.yaml"))


def pack_config(pack_dir: Path, settings: StackSettings, project_dir: Path | None = None) -> dict[str, Any] | None:
    """Policy config for a pack: the guardrails pack gets enforcement levels and the project directory.

    The settings themselves reach every pack as stack config (PULUMI_CONFIG / ConfigureStack), as the engine
    sends them; nothing here copies them into the policy config."""
    if (pack_dir / "guardrails_pack").is_dir():
        from guardrails_pack.config import policy_config_for_stack

        return policy_config_for_stack(settings, project_dir=project_dir)
    return None
