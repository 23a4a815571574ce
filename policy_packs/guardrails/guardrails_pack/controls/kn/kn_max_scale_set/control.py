"""kn.max-scale-set: autoscaling max-scale is set, positive and within the environment cap."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, scale_annotation
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    cap = ctx.settings.limits.max_scale
    scale = scale_annotation(ctx.props, "max")
    if scale.value is None:
        yield (f"autoscaling.knative.dev/max-scale is not set (no upper bound on replicas); set it <= {cap}")
    elif scale.value <= 0:
        yield f"{scale.key} is {scale.value} (0 means unlimited); set it between 1 and {cap}"
    elif scale.value > cap:
        yield f"{scale.key} is {scale.value}, above the {ctx.environment} cap {cap} (guardrails:limits.maxScale)"


CONTROL = ResourceControl(
    id="kn.max-scale-set",
    description="autoscaling.knative.dev/max-scale is set and no higher than the environment cap.",
    severity="medium",
    remediation_steps="Add autoscaling.knative.dev/max-scale to spec.template.metadata.annotations, at most "
    "guardrails:limits.maxScale.",
    url="https://knative.dev/docs/serving/autoscaling/scale-bounds/",
    # HorizontalPodAutoscaler rules (Polaris hpaMaxAvailability, kube-score horizontalpodautoscaler-replicas) check
    # another object kind; Knative has no HPA, so they are analogues, not claimed.
    peer_ids=(),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
