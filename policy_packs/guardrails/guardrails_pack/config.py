"""Policy configuration: enforcement per control and environment, and the stack settings every policy gets.

Every policy of the pack accepts the same config: `{"enforcementLevel": <level>, "settings": <StackSettings dump>}`
(plus the control's own `config_schema` options). `policy_config_for_stack` builds that map for all controls;
preflight passes it to `Configure`, and `preflight policy-config --stack X` writes it for
`pulumi preview --policy-pack-config`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from guardrails_pack.control import Control
from stackconf import StackSettings, load_stack_settings

ENFORCEMENT_LEVELS: tuple[str, ...] = ("advisory", "mandatory", "remediate", "disabled")
PACK_DIR = Path(__file__).resolve().parent.parent
# Default project dir: policy_packs/guardrails -> repo root (two levels above the pack).
DEFAULT_PROJECT_DIR = PACK_DIR.parent.parent


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


def settings_dump(settings: StackSettings) -> dict[str, Any]:
    return settings.model_dump(mode="json", by_alias=False)


def policy_config_for_stack(settings: StackSettings, controls: Iterable[Control] | None = None) -> dict[str, Any]:
    """`{policy name: {"enforcementLevel": level, "settings": dump}}` for every control of the pack."""
    if controls is None:
        from guardrails_pack.discovery import discover_controls

        controls = discover_controls()
    controls = list(controls)
    check_control_overrides(settings, controls)
    dump = settings_dump(settings)
    return {c.name: {"enforcementLevel": enforcement_for(c, settings), "settings": dump} for c in controls}


# ---------------------------------------------------------------- reading settings inside the pack


def _freeze_key(raw: Mapping[str, Any]) -> str:
    return json.dumps(raw, sort_keys=True, default=str)


@lru_cache(maxsize=64)
def _settings_from_json(text: str) -> StackSettings:
    return StackSettings.model_validate(json.loads(text))


# Every policy sees the same config object for every resource: parse it once per object (kept alive here so
# its id cannot be reused), not once per policy per resource — that was ~20% of a large Analyze run.
_by_identity: dict[int, tuple[Any, StackSettings]] = {}


def settings_from_policy_config(raw: Any) -> StackSettings:
    """Parse the `settings` object of a policy config (cached: every policy gets the same dump)."""
    hit = _by_identity.get(id(raw))
    if hit is not None and hit[0] is raw:
        return hit[1]
    settings = _parse_settings(raw)
    if len(_by_identity) > 256:
        _by_identity.clear()
    _by_identity[id(raw)] = (raw, settings)
    return settings


def _parse_settings(raw: Any) -> StackSettings:
    if not isinstance(raw, Mapping):
        raise PolicyConfigError(f"policy config 'settings' must be an object (found {type(raw).__name__})")
    plain = json.loads(json.dumps(_to_plain(raw), default=str))
    try:
        return _settings_from_json(_freeze_key(plain))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise PolicyConfigError(f"policy config 'settings' is not valid StackSettings: {problems}") from exc


def _to_plain(value: Any) -> Any:
    # Configure() hands JSON numbers back as floats; ints are restored by pydantic's lax int parsing only
    # when integral, which is what we want.
    if isinstance(value, Mapping):
        return {str(k): _to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def stack_name_from_env() -> str | None:
    """PULUMI_STACK as the CLI sets it for analyzer plugins (may be `org/project/stack`)."""
    value = os.environ.get("PULUMI_STACK", "").strip()
    return value.rsplit("/", 1)[-1] if value else None


def project_dir_from_env() -> Path:
    value = os.environ.get("GUARDRAILS_PROJECT_DIR", "").strip()
    return Path(value) if value else DEFAULT_PROJECT_DIR


def fallback_settings() -> StackSettings | None:
    """Settings of the stack named by PULUMI_STACK, or None when the variable is unset.

    Raises `stackconf.StackConfigError` (names the file and key) when the stack file is missing or invalid:
    a pack that silently used defaults would pass things the stack forbids.
    """
    stack = stack_name_from_env()
    if stack is None:
        return None
    return load_stack_settings(project_dir_from_env(), stack)


def fallback_initial_config(controls: Iterable[Control]) -> dict[str, Any] | None:
    """The pack's `initial_config` when run by plain `pulumi preview --policy-pack` (no config file)."""
    settings = fallback_settings()
    if settings is None:
        return None
    return policy_config_for_stack(settings, controls)
