"""kn.timeout-seconds: timeoutSeconds is set and within the maximum revision timeout."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, get_in
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    maximum = ctx.settings.limits.timeout_seconds_max
    value = get_in(ctx.pod_spec(), "timeoutSeconds")
    if value is None:
        yield f"spec.template.spec.timeoutSeconds is not set (cluster default applies); set 1..{maximum}"
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ValueError(f"spec.template.spec.timeoutSeconds must be an integer (found {value!r})")
    if not 0 < value <= maximum:
        yield (f"spec.template.spec.timeoutSeconds {int(value)} is outside 1..{maximum} "
               "(guardrails:limits.timeoutSecondsMax)")


CONTROL = ResourceControl(
    id="kn.timeout-seconds",
    description="spec.template.spec.timeoutSeconds is set and no higher than the maximum revision timeout.",
    severity="low",
    remediation_steps="Set spec.template.spec.timeoutSeconds to the longest request the service must serve.",
    url="https://knative.dev/docs/serving/configuration/config-defaults/",
    peer_ids=("kics:e8bb41e4-2f24-4e84-8bea-8c7c070cf93d",),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
