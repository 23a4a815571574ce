"""kn.explicit-security-context: the secure-pod-defaults fields are set explicitly on every container.

At preview we cannot see the cluster's `secure-pod-defaults` flag, so the template must not rely on it.
"""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, effective_security_value, get_in
from guardrails_pack.control import ResourceControl

FIELDS = ("runAsNonRoot", "allowPrivilegeEscalation", "seccompProfile.type", "capabilities.drop")


def check(ctx: ResourceContext) -> Iterator[str]:
    spec = ctx.pod_spec()
    for ref in ctx.containers():
        missing = []
        for field in FIELDS:
            head, _, rest = field.partition(".")
            value = effective_security_value(spec, ref, head) if head != "capabilities" else ref.get(
                "securityContext.capabilities")
            if value is not None and rest:
                value = get_in(value, rest)
            if value is None:
                missing.append(field)
        if missing:
            yield f"{ref.label} leaves {', '.join(missing)} to the cluster's secure-pod-defaults; set them explicitly"


CONTROL = ResourceControl(
    id="kn.explicit-security-context",
    description="runAsNonRoot, allowPrivilegeEscalation, seccompProfile and capabilities.drop are set explicitly.",
    severity="medium",
    remediation_steps="Set the four secure-pod-defaults fields in each container's securityContext; the pod.* "
    "controls check their values.",
    url="https://knative.dev/docs/serving/configuration/feature-flags/#secure-pod-defaults",
    peer_ids=(),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
