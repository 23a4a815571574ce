"""pod.probes-distinct: a container's livenessProbe differs from its readinessProbe.

Identical probes make a slow dependency restart the container instead of only taking it out of rotation.
"""

from collections.abc import Iterator

from guardrails_core.values import plain
from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers(include_init=False):
        liveness = ref.get("livenessProbe")
        readiness = ref.get("readinessProbe")
        if liveness is not None and readiness is not None and plain(liveness) == plain(readiness):
            yield f"{ref.label} livenessProbe and readinessProbe are identical; a slow dependency would restart it"


CONTROL = ResourceControl(
    id="pod.probes-distinct",
    description="A container's livenessProbe is not identical to its readinessProbe.",
    severity="low",
    remediation_steps="Point the livenessProbe at a cheap in-process check (e.g. /healthz) and keep dependency checks "
    "in the readinessProbe.",
    url="https://knative.dev/docs/serving/services/configure-probing/",
    peer_ids=("kyverno:other/ensure-probes-different", "kube-score:pod-probes-identical"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
