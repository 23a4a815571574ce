"""pod.no-privileged: no container of the Knative revision runs privileged."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers():
        if ref.get("securityContext.privileged") is True:
            yield f"{ref.label} sets securityContext.privileged: true"


CONTROL = ResourceControl(
    id="pod.no-privileged",
    description="No container in a Knative Service revision runs privileged.",
    severity="critical",
    remediation_steps="Remove `securityContext.privileged: true` (or set it to false) on every container.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
    peer_ids=(
        "CKV_K8S_16",
        "kyverno:pod-security/baseline/disallow-privileged-containers",
        "polaris:runAsPrivileged",
        "kube-score:container-security-context-privileged",
    ),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
