"""Turn controls into pulumi-policy policies, wrapped so that a control can never crash or silently pass.

* An exception from a control (wrong types, missing containers, a bug) becomes a violation naming the
  control, at the policy's own enforcement level: fail closed.
* pulumi-policy turns `UnknownValueError` into an *advisory* "can't run policy during preview" diagnostic,
  even for a mandatory policy. We catch it first and report a violation at the policy's level instead, so
  a control whose inputs are unknown is visible and, where it is mandatory, blocks.
* Missing or invalid stack settings from the engine are reported the same way (a pack that guessed
  defaults would pass what the stack forbids).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from guardrails_core.settings import StackSettings
from guardrails_core.values import plain, to_wire
from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from guardrails_pack import engine_config
from guardrails_pack.context import ResourceContext, StackContext, StackResource
from guardrails_pack.control import Control, ResourceControl, StackControl, StackViolation
from guardrails_pack.options import PROJECT_DIR_OPTION, PROJECT_DIR_SCHEMA
from guardrails_pack.runtime import control_defaults, error_message, unknown_message
from guardrails_pack.speed import APPLIES_TO, shared

SEVERITY = {
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}
ENFORCEMENT = {level.value: level for level in EnforcementLevel}

FRAMEWORK_REFERENCES = {
    "GDPR": ("2016/679", "https://eur-lex.europa.eu/eli/reg/2016/679/oj"),
    "HIPAA": ("45 CFR 164", "https://www.hhs.gov/hipaa/for-professionals/security/index.html"),
    "PCI-DSS": ("4.0.1", "https://www.pcisecuritystandards.org/document_library/"),
}

# Every policy accepts the stack settings object; controls may add their own options.
def _framework(name: str | None) -> PolicyComplianceFramework | None:
    if name is None:
        return None
    version, reference = FRAMEWORK_REFERENCES[name]
    return PolicyComplianceFramework(name=name, version=version, reference=reference)


def _config_schema(control: Control) -> PolicyConfigSchema:
    properties: dict[str, dict[str, Any]] = {PROJECT_DIR_OPTION: dict(PROJECT_DIR_SCHEMA)}
    for key, spec in control.config_schema.items():
        properties[key] = dict(spec)
    return PolicyConfigSchema(properties=properties)


def _options(config: Mapping[str, Any], control: Control) -> dict[str, Any]:
    return {k: config[k] for k in (*control.config_schema, PROJECT_DIR_OPTION) if k in config}


def resolve_settings(config: Mapping[str, Any]) -> StackSettings:
    """The stack's settings as the engine sent them (stack config); the policy config carries none."""
    return engine_config.stack_settings()


def _report(report_violation: ReportViolation, control: Control, messages: Iterable[str | StackViolation]) -> None:
    for item in messages:
        if isinstance(item, StackViolation):
            report_violation(f"[{control.id}] {item.message}", item.urn)
        else:
            report_violation(f"[{control.id}] {item}", None)


def _guarded(control: Control, report_violation: ReportViolation, run: Callable[[], list[Any]]) -> None:
    try:
        messages = run()
    except UnknownValueError as exc:
        report_violation(unknown_message(control, exc), None)
        return
    except Exception as exc:  # noqa: BLE001 - fail closed: report, never crash the analyzer, never pass
        report_violation(error_message(control, exc), None)
        return
    _report(report_violation, control, messages)


def resource_policy(control: ResourceControl) -> ResourceValidationPolicy:
    types = frozenset(control.resource_types)
    defaults = control_defaults(control)

    def context(args: ResourceValidationArgs) -> ResourceContext:
        config = args.get_config()
        return ResourceContext(
            resource_type=args.resource_type, props=args.props, name=args.name, urn=args.urn,
            settings=resolve_settings(config), config=_options(config, control), defaults=defaults,
        )

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in types:
            return
        # Materialise the generator inside the guard so an exception half-way is still caught.
        _guarded(control, report_violation, lambda: list(control.check(context(args))))

    remediate_fn = None
    if control.remediate is not None:
        remediate_hook = control.remediate

        def remediate_fn(args: ResourceValidationArgs) -> Mapping[str, Any] | None:
            if args.resource_type not in types:
                return None
            # Remediations must not crash the analyzer; a failing remediation leaves props unchanged and
            # the validation (which still runs) reports the violation.
            try:
                fixed = remediate_hook(context(args))
                # Controls edit a plain copy (UNKNOWN / Secret markers); the engine wants its wire form back.
                return None if fixed is None else to_wire(fixed)
            except UnknownValueError:
                raise  # pulumi-policy reports "can't run remediation during preview" itself
            except Exception:  # noqa: BLE001
                return None

    policy = ResourceValidationPolicy(
        name=control.name,
        description=control.description,
        validate=validate,
        remediate=remediate_fn,
        config_schema=_config_schema(control),
        severity=SEVERITY[control.severity],
        framework=_framework(control.framework),
        tags=list(control.peer_ids),
        remediation_steps=control.remediation_steps,
        url=control.url,
        display_name=control.id,
    )
    # `validate` returns at once for any other type: speed.py then leaves the policy out of that type's Analyze.
    setattr(policy, APPLIES_TO, types)
    return policy


def stack_policy(control: StackControl) -> StackValidationPolicy:
    defaults = control_defaults(control)

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        def run() -> list[Any]:
            config = args.get_config()
            # One list per request: the stack policies of one AnalyzeStack get the same resources (speed.py).
            resources = shared("stack resources", args.resources, lambda: [
                StackResource(type=r.resource_type, name=r.name, urn=r.urn, props=r.props,
                              parent=r.parent.urn if r.parent is not None else None)
                for r in args.resources])
            ctx = StackContext(resources=resources, settings=resolve_settings(config),
                               config=_options(config, control), defaults=defaults)
            return list(control.check(ctx))

        _guarded(control, report_violation, run)

    return StackValidationPolicy(
        name=control.name,
        description=control.description,
        validate=validate,
        config_schema=_config_schema(control),
        severity=SEVERITY[control.severity],
        framework=_framework(control.framework),
        tags=list(control.peer_ids),
        remediation_steps=control.remediation_steps,
        url=control.url,
        display_name=control.id,
    )


def build_policies(controls: Iterable[Control]) -> list[ResourceValidationPolicy | StackValidationPolicy]:
    return [resource_policy(c) if isinstance(c, ResourceControl) else stack_policy(c) for c in controls]


def initial_config_for_pack(raw: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any] | None:
    """`policy_config_for_stack` output -> PolicyPack(initial_config=...) (enforcement as the enum)."""
    if raw is None:
        return None
    out: dict[str, Any] = {}
    for name, entry in raw.items():
        value = dict(entry)
        value["enforcementLevel"] = ENFORCEMENT[value["enforcementLevel"]]
        out[name] = value
    return out


__all__ = ["build_policies", "initial_config_for_pack", "plain", "resolve_settings"]
