"""The stack config the engine hands the pack: the pack's only source of `guardrails:*` settings.

The Pulumi engine gives every analyzer plugin the stack's config twice: as the `PULUMI_CONFIG` environment of the
plugin process (a JSON object of `"namespace:key": "value"` strings, secrets already decrypted by the CLI) and in
`AnalyzerStackConfigureRequest.config` (ConfigureStack). pulumi-policy's Python servicer keeps only the tags of
the latter, so `keep_configure_stack_config` wraps it to keep the config too. Whatever the engine resolved
(`--config-file`, ESC `environment:` imports, `secure:` values) is therefore what the pack enforces; the pack never
reads a stack file. Without any config, controls fail closed naming the missing key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from guardrails_core.settings import CONFIG_NAMESPACE, StackConfigError, StackSettings, settings_from_config

CONFIG_ENV = "PULUMI_CONFIG"


class MissingStackConfigError(StackConfigError):
    """No `guardrails:*` stack config reached the pack."""


class _Received:
    config: dict[str, str] | None = None
    origin: str = ""
    settings: StackSettings | None = None
    error: StackConfigError | None = None


_received = _Received()


def receive(config: Mapping[str, Any], origin: str) -> None:
    """Take a new stack config (each ConfigureStack replaces the previous one)."""
    _received.config = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    _received.origin = origin
    _received.settings = None
    _received.error = None


def receive_from_environment(environ: Mapping[str, str] | None = None) -> bool:
    """Read `PULUMI_CONFIG` as the engine sets it for plugins; False when it is absent."""
    raw = (os.environ if environ is None else environ).get(CONFIG_ENV)
    if not raw:
        return False
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        _received.config, _received.settings = None, None
        _received.error = StackConfigError(f"{CONFIG_ENV} from the engine is not a JSON object ({exc.msg})")
        return False
    if not isinstance(config, dict):
        _received.error = StackConfigError(f"{CONFIG_ENV} from the engine is not a JSON object")
        return False
    receive(config, f"stack config ({CONFIG_ENV})")
    return True


def stack_settings() -> StackSettings:
    """The settings of the stack being analysed; raises StackConfigError (names the key) when unusable."""
    if _received.settings is not None:
        return _received.settings
    if _received.error is not None:
        raise _received.error
    config = _received.config
    if not config or not any(k.startswith(f"{CONFIG_NAMESPACE}:") for k in config):
        raise MissingStackConfigError(
            f"no {CONFIG_NAMESPACE}:* stack config reached the policy pack (the engine passes it in {CONFIG_ENV} and "
            f"ConfigureStack); set at least {CONFIG_NAMESPACE}:environment in the stack's config"
        )
    try:
        _received.settings = settings_from_config(config, _received.origin or "stack config")
    except StackConfigError as exc:
        _received.error = exc
        raise
    return _received.settings


def keep_configure_stack_config() -> None:
    """Make pulumi-policy's servicer hand ConfigureStack's config to `receive` (it keeps only the tags)."""
    from pulumi_policy import policy as _policy

    servicer = _policy._PolicyAnalyzerServicer
    if getattr(servicer, "_guardrails_keeps_config", False):
        return
    original = servicer.ConfigureStack

    def configure_stack(self: Any, request: Any, context: Any) -> Any:
        if request.config:  # an engine that sends none leaves PULUMI_CONFIG in force
            receive(dict(request.config), f"stack config of {request.stack or 'the stack'} (ConfigureStack)")
        return original(self, request, context)

    servicer.ConfigureStack = configure_stack
    servicer._guardrails_keeps_config = True
