"""kn.scale-annotation-conflict: min/max-scale spellings agree and sit where Knative reads them."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, SCALE_KEYS, ResourceContext, mapping_at, scale_annotation
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    for which in ("min", "max"):
        scale = scale_annotation(ctx.props, which)
        if scale.conflict:
            yield f"conflicting {which}-scale annotations: {scale.conflict}; keep only {SCALE_KEYS[which][0]}"
    top = mapping_at(ctx.props, "metadata.annotations")
    for keys in SCALE_KEYS.values():
        for key in keys:
            if key in top:
                yield (f"metadata.annotations[{key}] is on the Service, where Knative ignores it; move it to "
                       "spec.template.metadata.annotations")


CONTROL = ResourceControl(
    id="kn.scale-annotation-conflict",
    description="minScale/min-scale (and maxScale/max-scale) spellings do not disagree and sit on the template.",
    severity="medium",
    remediation_steps="Use only autoscaling.knative.dev/min-scale and max-scale, on "
    "spec.template.metadata.annotations.",
    url="https://knative.dev/docs/serving/autoscaling/scale-bounds/",
    peer_ids=(),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
