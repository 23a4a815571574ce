"""Stack settings shared by components, policy packs and preflight."""

from stackconf.settings import (
    CONFIG_NAMESPACE,
    DataClassification,
    Limits,
    PolicySettings,
    StackConfigError,
    StackSettings,
    load_stack_settings,
    read_stack_config,
    settings_from_config,
    stack_file,
)

__all__ = [
    "CONFIG_NAMESPACE",
    "DataClassification",
    "Limits",
    "PolicySettings",
    "StackConfigError",
    "StackSettings",
    "load_stack_settings",
    "read_stack_config",
    "settings_from_config",
    "stack_file",
]
