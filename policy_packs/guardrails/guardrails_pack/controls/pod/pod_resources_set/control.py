"""pod.resources-set: CPU and memory requests plus a memory limit, within the stack's container caps."""

from collections.abc import Iterator

from guardrails_pack.context import (
    KNATIVE_SERVICE,
    ContainerRef,
    ResourceContext,
    parse_cpu_millis,
    parse_memory_bytes,
)
from guardrails_pack.control import ResourceControl

MIB = 2**20


def _findings(ctx: ResourceContext, ref: ContainerRef) -> Iterator[str]:
    limits = ctx.settings.limits
    requests_cpu = ref.get("resources.requests.cpu")
    requests_mem = ref.get("resources.requests.memory")
    limit_mem = ref.get("resources.limits.memory")
    limit_cpu = ref.get("resources.limits.cpu")
    for value, field in ((requests_cpu, "requests.cpu"), (requests_mem, "requests.memory"),
                         (limit_mem, "limits.memory")):
        if value is None:
            yield f"{ref.label} has no resources.{field}"
    where = f"{ref.path}.resources"
    if limit_mem is not None:
        mem = parse_memory_bytes(limit_mem, f"{where}.limits.memory")
        if mem > limits.container_memory_mib * MIB:
            yield (f"{ref.label} limits.memory {limit_mem} exceeds the {ctx.environment} cap "
                   f"{limits.container_memory_mib}Mi (guardrails:limits.containerMemoryMib)")
        if requests_mem is not None and parse_memory_bytes(requests_mem, f"{where}.requests.memory") > mem:
            yield f"{ref.label} requests.memory {requests_mem} is above limits.memory {limit_mem}"
    cpu_cap = limits.container_cpu_millis
    for value, field in ((requests_cpu, "requests.cpu"), (limit_cpu, "limits.cpu")):
        if value is not None and parse_cpu_millis(value, f"{where}.{field}") > cpu_cap:
            yield (f"{ref.label} {field} {value} exceeds the {ctx.environment} cap {cpu_cap}m "
                   "(guardrails:limits.containerCpuMillis)")
    if requests_cpu is not None and limit_cpu is not None:
        if parse_cpu_millis(requests_cpu) > parse_cpu_millis(limit_cpu):
            yield f"{ref.label} requests.cpu {requests_cpu} is above limits.cpu {limit_cpu}"


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers():
        yield from _findings(ctx, ref)


CONTROL = ResourceControl(
    id="pod.resources-set",
    description="Every container declares CPU and memory requests and a memory limit, within the stack caps.",
    severity="medium",
    remediation_steps="Set resources.requests.cpu, resources.requests.memory and resources.limits.memory on every "
    "container, no larger than guardrails:limits.containerCpuMillis / containerMemoryMib.",
    url="https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
    peer_ids=("kyverno:best-practices/require-pod-requests-limits", "kube-score:container-resources"),
    # Each of these checks one of the four values this control requires together.
    stricter_than=("CKV_K8S_10", "CKV_K8S_12", "CKV_K8S_13", "polaris:cpuRequestsMissing",
                   "polaris:memoryRequestsMissing", "polaris:memoryLimitsMissing"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
