"""pod.seccomp-not-unconfined: the Pod Security baseline seccomp rule (no `Unconfined` profile anywhere).

Baseline only forbids `Unconfined`; an unset profile passes here (the restricted rule, which requires
RuntimeDefault or Localhost, is `pod.seccomp-runtime-default`).
"""

from collections.abc import Iterator

from guardrails_pack.context import (
    KNATIVE_SERVICE,
    ResourceContext,
    container_security_context,
    get_in,
    pod_security_context,
)
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    # Baseline checks every field that can carry a profile, so a pod-level Unconfined fails even when each
    # container overrides it.
    if get_in(pod_security_context(ctx.pod_spec()), "seccompProfile.type") == "Unconfined":
        yield "spec.template.spec.securityContext.seccompProfile.type is Unconfined"
    for ref in ctx.containers():
        if get_in(container_security_context(ref), "seccompProfile.type") == "Unconfined":
            yield f"{ref.label} securityContext.seccompProfile.type is Unconfined"


CONTROL = ResourceControl(
    id="pod.seccomp-not-unconfined",
    description="No container or pod-level securityContext sets the seccomp profile to Unconfined (PSS baseline).",
    severity="high",
    remediation_steps="Remove `seccompProfile: {type: Unconfined}` or set `type: RuntimeDefault`.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
    peer_ids=("kyverno:pod-security/baseline/restrict-seccomp",),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
