"""Run controls outside the CrossGuard server with the exact prop objects pulumi-policy builds.

`Analyze` turns the engine's protobuf Struct into `MessageToDict` -> `deserialize_properties` ->
`unknown_checking_proxy`. `runtime_props` does the same from plain inputs (with `guardrails_core.values.UNKNOWN` /
`Secret` or their wire forms), so direct tests, benchmarks and the offline engine see what the real pack sees
(numbers become floats, secrets are unwrapped, reading an unknown raises `UnknownValueError`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format, struct_pb2
from guardrails_core.settings import StackSettings
from guardrails_core.values import to_wire
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from guardrails_pack.context import ResourceContext, StackContext, StackResource
from guardrails_pack.control import Control, ResourceControl, StackControl, StackViolation


def runtime_props(inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    struct = struct_pb2.Struct()
    struct.update(to_wire(inputs))
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


@dataclass(frozen=True)
class Outcome:
    """Result of one control on one input: violation messages, and whether it errored/hit an unknown."""

    control_id: str
    messages: tuple[str, ...]
    status: str  # "pass" | "fail" | "unknown" | "error"

    @property
    def passed(self) -> bool:
        return self.status == "pass"


def unknown_message(control: Control, exc: UnknownValueError) -> str:
    return (
        f"[{control.id}] cannot be evaluated during preview: {exc.message}; "
        "the control did not pass: make the value known (declare it in the service file) or re-run at `up`"
    )


def error_message(control: Control, exc: BaseException) -> str:
    return (
        f"[{control.id}] failed closed on unexpected input: {exc}"
        if type(exc).__name__ == "ControlInputError"
        else f"[{control.id}] failed closed: the control raised {type(exc).__name__}: {exc}"
    )


def control_defaults(control: Control) -> dict[str, Any]:
    return {k: spec["default"] for k, spec in control.config_schema.items()}


def evaluate_resource(
    control: ResourceControl,
    resource_type: str,
    props: Mapping[str, Any],
    settings: StackSettings,
    name: str = "resource",
    urn: str = "",
    config: Mapping[str, Any] | None = None,
) -> Outcome | None:
    """Run one resource control the way the pack's wrapper does; None when the type does not apply."""
    if resource_type not in control.resource_types:
        return None
    ctx = ResourceContext(
        resource_type=resource_type, props=props, name=name, urn=urn, settings=settings,
        config=dict(config or {}), defaults=control_defaults(control),
    )
    return _collect(control, lambda: [str(m) for m in control.check(ctx)])


def evaluate_stack(
    control: StackControl,
    resources: Iterable[StackResource],
    settings: StackSettings,
    config: Mapping[str, Any] | None = None,
) -> Outcome:
    ctx = StackContext(
        resources=list(resources), settings=settings, config=dict(config or {}), defaults=control_defaults(control)
    )

    def run() -> list[str]:
        out = []
        for item in control.check(ctx):
            out.append(item.message if isinstance(item, StackViolation) else str(item))
        return out

    return _collect(control, run)


def _collect(control: Control, run: Any) -> Outcome:
    try:
        messages = run()
    except UnknownValueError as exc:
        return Outcome(control.id, (unknown_message(control, exc),), "unknown")
    except Exception as exc:  # noqa: BLE001 - any control bug or odd input must fail closed, not crash
        return Outcome(control.id, (error_message(control, exc),), "error")
    return Outcome(control.id, tuple(messages), "fail" if messages else "pass")
