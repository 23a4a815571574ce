"""pod.no-privilege-escalation: every container sets allowPrivilegeEscalation: false explicitly."""

from collections.abc import Iterator
from typing import Any

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, container_security_context
from guardrails_pack.control import ResourceControl
from guardrails_pack.remediation import remediate_containers


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers():
        sc = container_security_context(ref)
        value = sc["allowPrivilegeEscalation"] if "allowPrivilegeEscalation" in sc else None
        if value is not False:
            found = "unset" if value is None else repr(value)
            yield f"{ref.label} securityContext.allowPrivilegeEscalation is {found}; must be false"


def remediate(ctx: ResourceContext) -> dict[str, Any] | None:
    return remediate_containers(ctx, lambda sc: sc.update(allowPrivilegeEscalation=False))


CONTROL = ResourceControl(
    id="pod.no-privilege-escalation",
    description="Every container sets securityContext.allowPrivilegeEscalation: false explicitly.",
    severity="high",
    remediation_steps="Set `securityContext.allowPrivilegeEscalation: false` on every container "
    "(the pack can do it: enforcement `remediate`).",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    peer_ids=("CKV_K8S_20", "kyverno:pod-security/restricted/disallow-privilege-escalation",
              "polaris:privilegeEscalationAllowed"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
    remediate=remediate,
)
