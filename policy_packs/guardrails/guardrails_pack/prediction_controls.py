"""Adapter for the stack controls whose logic lives in `guardrails_predict.guardrails` (shared with preflight):
the pack's stack resources and settings in, `StackViolation`s out."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from guardrails_core.settings import StackSettings

from guardrails_pack.context import StackContext
from guardrails_pack.control import StackViolation
from guardrails_pack.options import PROJECT_DIR_OPTION
from guardrails_pack.props import stack_resources
from guardrails_pack.speed import shared

Rule = Callable[..., list[tuple[str | None, str]]]
# "0": this pack process does not load the prediction stack ahead of its first AnalyzeStack (preflight sets it for
# the extra processes of a pack that only take per-resource calls; the engine never sets it).
WARM_ENV = "GUARDRAILS_PACK_WARM_PREDICTIONS"


def plan_inputs(ctx: StackContext) -> tuple[list[dict[str, Any]], StackSettings]:
    """The plan and the typed settings as the rules take them; within one AnalyzeStack every prediction control gets
    the very same objects, so `_shared_pass` below recognises the plan and predicts it once."""
    def build() -> tuple[list[dict[str, Any]], StackSettings]:
        resources = [{"type": r.type, "name": r.name, "urn": r.urn, "props": props, "parent": r.parent}
                     for r, props in stack_resources(ctx)]
        return resources, ctx.settings

    anchor = ctx.resources[0].props if ctx.resources else ctx.settings
    return shared(("plan_inputs", id(ctx.settings)), anchor, build)


def project_option(ctx: StackContext) -> Path | None:
    """The pack-wide project_dir option, when configured (predictions need it only for usage-history files)."""
    value = ctx.config.get(PROJECT_DIR_OPTION)
    return Path(value) if isinstance(value, str) and value.strip() else None


def violations(found: Sequence[tuple[str | None, str]]) -> Iterator[StackViolation]:
    for urn, message in found:
        yield StackViolation(message, urn)


def prediction_rule(name: str) -> Rule:
    """A rule of `guardrails_predict.guardrails`, imported on first use: numpy and XGBoost load when a prediction
    control first runs, not when the pack starts (the pack's other controls never need them)."""
    from guardrails_predict import guardrails

    _share_prediction_pass(guardrails)
    return getattr(guardrails, name)


def _share_prediction_pass(guardrails: Any) -> None:
    """The stack controls each run one rule, and every rule starts with the same prediction pass over the plan
    (`guardrails._predict`: models over every service, ~0.5 s at 500 services). Within one AnalyzeStack request the
    pass runs once per (plan, settings, project) and the rules share its result (they only read
    it); outside a request, or with sharing switched off, every call predicts afresh."""
    if getattr(guardrails, "_guardrails_pack_shared", False) or not hasattr(guardrails, "_predict"):
        return
    original = guardrails._predict

    def predict(resources: Any, settings: Any, previous: Any, project_dir: Any) -> Any:
        if previous is not None:  # only the anomaly control passes one, and it reads the file itself: no sharing
            return original(resources, settings, previous, project_dir)
        key = ("prediction pass", id(settings), str(project_dir))
        return shared(key, resources, lambda: original(resources, settings, previous, project_dir))

    guardrails._predict = predict
    guardrails._guardrails_pack_shared = True


def prediction_check(rule_name: str) -> Callable[[StackContext], Iterator[StackViolation]]:
    """`check` for a control that is exactly one rule (named in guardrails_predict.guardrails) over the plan."""

    def check(ctx: StackContext) -> Iterator[StackViolation]:
        resources, settings = plan_inputs(ctx)
        yield from violations(prediction_rule(rule_name)(resources, settings, project_dir=project_option(ctx)))

    return check


def warm_up_after_configure_stack(environ: Mapping[str, str] | None = None) -> bool:
    """Start loading the prediction stack in the background (guardrails_predict.warm) when the engine first
    configures the stack, instead of inside the first AnalyzeStack: the engine configures the pack at the start of
    a preview and sends AnalyzeStack only after the program has registered everything. The pack still starts
    without these imports (its port is printed as soon as the policies exist). False (nothing changed) when
    WARM_ENV is "0"."""
    if (os.environ if environ is None else environ).get(WARM_ENV, "1") == "0":
        return False
    from pulumi_policy import policy as _policy

    servicer = _policy._PolicyAnalyzerServicer
    if getattr(servicer, "_guardrails_warms_predictions", False):
        return True
    original = servicer.ConfigureStack
    started = threading.Event()

    def configure_stack(self: Any, request: Any, context: Any) -> Any:
        if not started.is_set():
            started.set()
            from guardrails_predict.warm import warm_up_in_background

            warm_up_in_background()
        return original(self, request, context)

    servicer.ConfigureStack = configure_stack
    servicer._guardrails_warms_predictions = True
    return True
