"""Policy configuration: enforcement per control and environment, and the pack-wide `project_dir` option.

The stack settings themselves come from the engine's stack config (`engine_config`), never from the policy
config. Every policy accepts `{"enforcementLevel": <level>, "project_dir": <path>}` plus the control's own
`config_schema` options. `policy_config_for_stack` builds that map for all controls; preflight passes it to
`Configure`, and `preflight policy-config --stack X` writes it for `pulumi preview --policy-pack-config`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from guardrails_core.settings import StackSettings

from guardrails_pack import engine_config
from guardrails_pack.control import PROJECT_DIR_OPTION, Control


class PolicyConfigError(ValueError):
    """Settings or per-control overrides that cannot be used (message names the key and what is allowed)."""


def default_enforcement(severity: str, environment: str) -> str:
    """prod: high/critical block (`mandatory`); everything else reports (`advisory`)."""
    if environment == "prod" and severity in ("high", "critical"):
        return "mandatory"
    return "advisory"


def enforcement_for(control: Control, settings: StackSettings) -> str:
    """Per-control override > configured severity map (`guardrails:policy.enforcement`) > environment default."""
    overrides = settings.policy.controls
    if control.id in overrides:
        level = overrides[control.id]
    elif control.name in overrides:  # the CrossGuard policy name is accepted too
        level = overrides[control.name]
    elif "enforcement" in settings.policy.model_fields_set and control.severity in settings.policy.enforcement:
        level = settings.policy.enforcement[control.severity]  # type: ignore[index]
    else:
        level = default_enforcement(control.severity, settings.environment)
    if level == "remediate" and control.remediate is None:
        # CrossGuard downgrades a remediate policy without remediation to a plain check; be explicit instead.
        level = "mandatory"
    return level


def check_control_overrides(settings: StackSettings, controls: Iterable[Control]) -> None:
    """Fail closed on a typo: an override for a control that does not exist would silently do nothing."""
    known = {c.id for c in controls} | {c.name for c in controls}
    unknown = sorted(set(settings.policy.controls) - known)
    if unknown:
        raise PolicyConfigError(
            f"guardrails:policy.controls names unknown control(s) {', '.join(unknown)}; "
            f"allowed: the ids in docs/controls.md (e.g. {sorted(c.id for c in controls)[:3]})"
        )


def policy_config_for_stack(settings: StackSettings, controls: Iterable[Control] | None = None, *,
                            project_dir: Path | None = None) -> dict[str, Any]:
    """`{policy name: {"enforcementLevel": level[, "project_dir": path]}}` for every control of the pack."""
    if controls is None:
        from guardrails_pack.discovery import discover_controls

        controls = discover_controls()
    controls = list(controls)
    check_control_overrides(settings, controls)
    extra = {PROJECT_DIR_OPTION: str(project_dir)} if project_dir is not None else {}
    return {c.name: {"enforcementLevel": enforcement_for(c, settings), **extra} for c in controls}


def initial_config_from_engine(controls: Iterable[Control]) -> dict[str, Any] | None:
    """Enforcement levels from the stack config the engine put in PULUMI_CONFIG (plain `--policy-pack` runs).

    None when there is none or it is unusable: the pack then starts with its defaults and every control fails
    closed at analysis, naming the problem (see engine_config.stack_settings)."""
    if not engine_config.receive_from_environment():
        return None
    try:
        settings = engine_config.stack_settings()
    except ValueError:
        return None
    return policy_config_for_stack(settings, controls)


