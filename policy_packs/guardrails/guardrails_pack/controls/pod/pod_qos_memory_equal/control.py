"""pod.qos-memory-equal: memory request equals the memory limit (Guaranteed memory, no OOM surprises)."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, parse_memory_bytes
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers(include_init=False):
        request = ref.get("resources.requests.memory")
        limit = ref.get("resources.limits.memory")
        if request is None or limit is None:
            yield f"{ref.label} needs both resources.requests.memory and resources.limits.memory"
            continue
        where = f"{ref.path}.resources"
        if parse_memory_bytes(request, f"{where}.requests.memory") != parse_memory_bytes(
            limit, f"{where}.limits.memory"
        ):
            yield f"{ref.label} requests.memory {request} differs from limits.memory {limit}"


CONTROL = ResourceControl(
    id="pod.qos-memory-equal",
    description="Each container's memory request equals its memory limit.",
    severity="low",
    remediation_steps="Set resources.requests.memory equal to resources.limits.memory.",
    url="https://kubernetes.io/docs/tasks/configure-pod-container/quality-service-pod/",
    # Kyverno's require-qos-guaranteed also wants CPU requests = limits: not claimed.
    peer_ids=("kyverno:other/memory-requests-equal-limits", "kube-score:container-memory-requests-equal-limits"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
