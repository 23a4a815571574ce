"""fin.maxscale-cap-per-env: Knative max-scale and Lambda concurrency are bounded by the environment cap."""

from collections.abc import Iterator

from guardrails_core.types import KNATIVE_SERVICE, LAMBDA_FUNCTION
from guardrails_core.values import is_unknown
from guardrails_pack.context import ResourceContext, scale_annotation
from guardrails_pack.control import ResourceControl
from guardrails_pack.props import as_int, props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    limits = ctx.settings.limits
    if ctx.resource_type == KNATIVE_SERVICE:
        scale = scale_annotation(ctx.props, "max")
        if scale.conflict:
            yield f"max-scale is set twice with different values: {scale.conflict}"
        if scale.value is None or scale.value == 0:
            yield f"max-scale is unset or 0 (unbounded); set autoscaling.knative.dev/max-scale ≤ {limits.max_scale}"
        elif scale.value > limits.max_scale:
            yield (f"{scale.key}={scale.value} exceeds the {ctx.environment} cap limits.max_scale="
                   f"{limits.max_scale}")
        return
    raw = props_of(ctx).get("reservedConcurrentExecutions")
    if is_unknown(raw):
        yield "reservedConcurrentExecutions is unknown at preview"
        return
    value = as_int(raw, "reservedConcurrentExecutions")
    if value is not None and value > limits.reserved_concurrency_max:
        yield (f"reservedConcurrentExecutions {value} exceeds the {ctx.environment} cap "
               f"limits.reserved_concurrency_max={limits.reserved_concurrency_max}")


CONTROL = ResourceControl(
    id="fin.maxscale-cap-per-env",
    description="Knative `autoscaling.knative.dev/max-scale` (or legacy maxScale) is set and ≤ `limits.max_scale`, "
    "and Lambda reservedConcurrentExecutions ≤ `limits.reserved_concurrency_max`, so a traffic spike cannot "
    "scale cost without bound.",
    severity="medium",
    remediation_steps="Set autoscaling.knative.dev/max-scale on the revision template (and reserved concurrency "
    "on functions) within guardrails:limits for the stack; raise the cap in the stack file if the budget allows.",
    url="https://knative.dev/docs/serving/autoscaling/scale-bounds/",
    # HorizontalPodAutoscaler rules (Polaris hpaMaxAvailability, kube-score horizontalpodautoscaler-replicas) check
    # another object kind; Knative has no HPA, so they are analogues, not claimed.
    peer_ids=(),
    resource_types=(KNATIVE_SERVICE, LAMBDA_FUNCTION),
    check=check,
)
