"""pod.no-host-ports: no container port is bound to the node (hostPort)."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, container_list
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers():
        ports = container_list(ref, "ports")
        for index in range(len(ports)):
            port = ports[index]
            if "hostPort" in port and port["hostPort"] not in (None, 0):
                yield f"{ref.label} ports[{index}] sets hostPort {int(port['hostPort'])}; remove it"


CONTROL = ResourceControl(
    id="pod.no-host-ports",
    description="No container of a Knative revision binds a hostPort.",
    severity="medium",
    remediation_steps="Remove `hostPort` from every `ports` entry; Knative routes traffic through its own ingress.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
    peer_ids=("CKV_K8S_26", "kyverno:pod-security/baseline/disallow-host-ports", "polaris:hostPortSet"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
