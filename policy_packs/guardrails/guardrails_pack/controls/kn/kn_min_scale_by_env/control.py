"""kn.min-scale-by-env: prod keeps warm replicas (min-scale >= floor); other environments scale to zero."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, scale_annotation
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    scale = scale_annotation(ctx.props, "min")
    value = scale.value or 0
    floor = ctx.settings.limits.min_scale_prod
    if ctx.environment == "prod":
        if value < floor:
            yield (f"min-scale is {value} in prod; latency-critical services need >= {floor} "
                   "(guardrails:limits.minScaleProd) to avoid cold starts")
    elif value > 0:
        yield (f"{scale.key} is {value} in {ctx.environment}; non-prod services should scale to zero "
               "(min-scale costs money for the revision's whole life)")
    maximum = scale_annotation(ctx.props, "max").value
    if maximum is not None and maximum > 0 and value > maximum:
        yield f"min-scale {value} is above max-scale {maximum}"


CONTROL = ResourceControl(
    id="kn.min-scale-by-env",
    description="min-scale >= the prod floor in prod, 0 elsewhere, and never above max-scale.",
    severity="low",
    remediation_steps="Set autoscaling.knative.dev/min-scale to guardrails:limits.minScaleProd in prod and to 0 "
    "(or remove it) in other environments.",
    url="https://knative.dev/docs/serving/autoscaling/scale-bounds/",
    # Deployment replica-count rules (Polaris deploymentMissingReplicas, kube-score deployment-replicas, Kyverno
    # require-deployments-have-multiple-replicas) are analogues with other thresholds, not this rule: not claimed.
    peer_ids=(),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
