"""Policy config the way the engine builds it before `Configure` (pkg/resource/analyzer/config.go).

`ReconcilePolicyPackConfig`: start from every policy's default enforcement level and the `default`s of its
config schema, apply the pack's `initialConfig`, then the user's config (an `all` entry sets every policy's
level), then validate each policy's properties against its schema. The result holds an entry for *every*
policy, so the pack never falls back to its own defaults behind our back.

Unlike the engine we also refuse config for a policy the pack does not have: a typo there would otherwise
silently leave a control at its default level.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from guardrails_core.levels import ENFORCEMENT_LEVELS
from referencing import Registry


@dataclass(frozen=True)
class PolicyConfigEntry:
    enforcement_level: str
    properties: dict[str, Any] = field(default_factory=dict)


def split_entry(policy: str, raw: Any, origin: str) -> tuple[str | None, dict[str, Any]]:
    """One user entry: a level string, or a mapping with optional `enforcementLevel` plus properties."""
    if isinstance(raw, str):
        level, props = raw, {}
    elif isinstance(raw, Mapping):
        props = {k: copy.deepcopy(v) for k, v in raw.items() if k != "enforcementLevel"}
        level = raw.get("enforcementLevel")
    else:
        raise ValueError(f"{origin}: config for policy {policy!r} must be a level string or a mapping, "
                         f"got {type(raw).__name__}")
    if level is not None and level not in ENFORCEMENT_LEVELS:
        raise ValueError(f"{origin}: policy {policy!r}: enforcementLevel {level!r} is not one of "
                         f"{', '.join(ENFORCEMENT_LEVELS)}")
    return level, props


def reconcile(
    policies: Mapping[str, tuple[str, Mapping[str, Any], list[str]]],
    initial_config: Mapping[str, PolicyConfigEntry],
    user_config: Mapping[str, Any] | None,
    *,
    origin: str = "policy config",
    validators: dict[str, jsonschema.protocols.Validator] | None = None,
) -> dict[str, PolicyConfigEntry]:
    """policies: name -> (default level, schema properties, required). Raises ValueError naming the problem.

    `validators` caches compiled schemas per policy across calls (a pack's schemas never change)."""
    validators = {} if validators is None else validators
    result: dict[str, PolicyConfigEntry] = {}
    for name, (level, schema_props, _required) in policies.items():
        defaults = {k: copy.deepcopy(v["default"]) for k, v in schema_props.items()
                    if isinstance(v, Mapping) and "default" in v}
        result[name] = PolicyConfigEntry(level, defaults)

    def apply(config: Mapping[str, tuple[str | None, dict[str, Any]]]) -> None:
        all_level = config.get("all", (None, {}))[0]
        if all_level is not None:
            for name, entry in result.items():
                result[name] = PolicyConfigEntry(all_level, entry.properties)
        for name, (level, props) in config.items():
            if name == "all":
                continue
            current = result[name]
            result[name] = PolicyConfigEntry(level or current.enforcement_level, {**current.properties, **props})

    apply({k: (v.enforcement_level, dict(v.properties)) for k, v in initial_config.items() if k in result})

    if user_config:
        parsed: dict[str, tuple[str | None, dict[str, Any]]] = {}
        for name, raw in user_config.items():
            if name != "all" and name not in result:
                known = ", ".join(sorted(result)) or "none"
                raise ValueError(f"{origin}: no policy named {name!r} in this pack (policies: {known})")
            parsed[name] = split_entry(name, raw, origin)
        apply(parsed)

    problems: list[str] = []
    for name, (_level, schema_props, required) in policies.items():
        validator = validators.get(name)
        if validator is None:
            schema: dict[str, Any] = {"type": "object"}
            if schema_props:
                schema["properties"] = dict(schema_props)
            if required:
                schema["required"] = list(required)
            # an explicit registry: a reference the schema does not hold fails instead of being fetched
            validator = validators[name] = jsonschema.Draft7Validator(schema, registry=Registry())
        for err in sorted(validator.iter_errors(result[name].properties), key=lambda e: list(e.path)):
            where = ".".join(str(p) for p in err.path) or "(root)"
            problems.append(f"{name}: {where}: {err.message}")
    if problems:
        raise ValueError(f"{origin}: invalid policy config:\n  " + "\n  ".join(problems))
    return result
