"""kn.container-concurrency: containerConcurrency is set, > 0 and <= the limit."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, get_in
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    limit = ctx.settings.limits.container_concurrency_max
    value = get_in(ctx.pod_spec(), "containerConcurrency")
    if value is None:
        yield f"spec.template.spec.containerConcurrency is not set (0 = unlimited); set 1..{limit}"
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ValueError(f"spec.template.spec.containerConcurrency must be an integer (found {value!r})")
    if value <= 0:
        yield f"spec.template.spec.containerConcurrency is {int(value)} (unlimited); set 1..{limit}"
    elif value > limit:
        yield (f"spec.template.spec.containerConcurrency {int(value)} is above {limit} "
               "(guardrails:limits.containerConcurrencyMax)")


CONTROL = ResourceControl(
    id="kn.container-concurrency",
    description="containerConcurrency is a positive hard limit no higher than the configured maximum.",
    severity="low",
    remediation_steps="Set spec.template.spec.containerConcurrency to the number of requests one replica can serve.",
    url="https://knative.dev/docs/serving/autoscaling/concurrency/",
    peer_ids=(),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
